"""The HTTP face of Égide: an OpenAI-compatible, label-aware API (see docs/api.md).

One folder per endpoint family (`chat`, `embeddings`, `models`, `health`),
each a thin router, its wire models (`protocol`) and its logic (`service`);
the shared policy of every model request lives in `gateway`.
"""

from egide.api.app import create_app

__all__ = ["create_app"]
