"""The application layer of model use, shared by every face (API, command line, workflows).

- `gateway`: admission of a model request (role, working label, kill switch,
  accreditation routing, output label, quotas) and its journal entry;
- `deployments` and `loading`: the models one process serves;
- `ratelimit`: request, token and ingestion quotas per user and organisation;
- `metrics`: the Prometheus counters of one app;
- `callers`: sign-in for the faces that present a credential themselves.
"""
