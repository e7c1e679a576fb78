"""The console's words in French and English: one catalogue, one lookup.

Every string a page shows goes through `Catalogue.text(lang, key)`. A key
missing from a language is a bug caught by `tests/console/test_i18n.py`
(both languages hold the same keys). Placeholders use `str.format` names.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("fr", "en")

_TEXTS: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "app.name": "Égide",
        "skip": "Aller au contenu",
        "nav.home": "Accueil",
        "nav.documents": "Documents",
        "nav.upload": "Verser un document",
        "nav.label": "Navigation principale",
        "user.clearance": "Habilitation",
        "user.organisation": "Organisation",
        "user.none": "aucune",
        "user.roles": "Rôles",
        "signout": "Se déconnecter",
        "language": "Langue",
        "language.switch": "English",
        "banner.label": "Classification de la page",
        "signin.title": "Connexion",
        "signin.intro": (
            "Connectez-vous avec le fournisseur d'identité du ministère ou avec une "
            "clé d'API Égide."
        ),
        "signin.oidc": "Se connecter avec le fournisseur d'identité",
        "signin.key": "Clé d'API",
        "signin.key.help": (
            "La clé commence par egk_ ; elle vous a été remise par un administrateur."
        ),
        "signin.submit": "Se connecter",
        "signin.continue": "Connexion réussie. Continuer",
        "signin.failed": "Connexion refusée : {reason}",
        "signin.throttled": (
            "Trop de tentatives de connexion échouées depuis ce poste : réessayez dans {seconds} s."
        ),
        "signin.expired": "Votre session a expiré ou n'est plus valable ; reconnectez-vous.",
        "home.title": "Accueil",
        "home.welcome": "Bienvenue, {name}.",
        "home.may": "Ce que vous pouvez faire",
        "home.nothing": "Aucun rôle ne vous est attribué : demandez-le à un administrateur.",
        "action.model.use": "Utiliser les modèles",
        "action.knowledge.search": "Rechercher dans la base documentaire",
        "action.knowledge.ask": "Interroger la base documentaire",
        "action.knowledge.ingest": "Verser des documents",
        "action.document.read": "Consulter les documents",
        "action.document.relabel": "Reclassifier des documents",
        "action.document.declassify": "Déclassifier des documents",
        "action.document.delete": "Supprimer des documents",
        "action.collection.list": "Lister les collections",
        "action.synthesis.run": "Lancer une synthèse de renseignement",
        "action.proposal.create": "Créer des propositions",
        "action.proposal.read": "Consulter les propositions",
        "action.proposal.decide": "Décider des propositions",
        "action.proposal.dissent": "Exprimer un avis divergent",
        "action.proposal.release": "Diffuser des propositions",
        "action.audit.read": "Consulter le journal d'audit",
        "action.administer": "Administrer la plateforme",
        "action.models.manage": "Gérer les modèles",
        "documents.title": "Documents",
        "documents.search": "Rechercher par titre ou nom de fichier",
        "documents.search.submit": "Rechercher",
        "documents.empty": "Aucun document que vous puissiez lire.",
        "documents.col.marking": "Marquage",
        "documents.col.title": "Titre",
        "documents.col.collection": "Collection",
        "documents.col.version": "Version",
        "documents.col.passages": "Passages",
        "documents.col.created": "Versé le",
        "documents.more": "Documents suivants",
        "upload.title": "Verser un document",
        "upload.file": "Fichier",
        "upload.collection": "Collection",
        "upload.label": "Classification",
        "upload.label.auto": "Lue dans le document (marquages)",
        "upload.label.help": (
            "Seuls les niveaux que couvre votre habilitation sont proposés. Un "
            "marquage plus élevé dans le document l'emporte."
        ),
        "upload.submit": "Verser",
        "upload.progress": "Envoi",
        "upload.done": "Document versé : {title} ({marking}).",
        "upload.nocollection": "Aucune collection ne vous est ouverte.",
        "proposal.plan": "Voir le plan : carte et itinéraires",
        "plan.title": "Plan {id}",
        "plan.meta": "par {author} · coût {cost} · {status}",
        "plan.proposal": "Proposition {id} : approuver ou rejeter",
        "plan.noproposal": "Ce plan n'a pas encore été proposé (egide plan propose, ou l'API).",
        "plan.map.alt": "Carte des itinéraires du plan",
        "plan.routes": "Itinéraires",
        "plan.unserved": "Non servis",
        "plan.col.vehicle": "Véhicule",
        "plan.col.stops": "Arrêts",
        "plan.col.distance": "Distance",
        "plan.col.duration": "Durée",
        "plan.col.cost": "Coût",
        "document.versions": "Versions",
        "document.passages": "Passages",
        "document.passage": "Passage {n}",
        "document.page": "page {n}",
        "document.relabel": "Reclassifier",
        "document.relabel.label": "Nouvelle classification",
        "document.relabel.rationale": "Motif (obligatoire pour abaisser)",
        "document.relabel.submit": "Reclassifier",
        "document.relabelled": "Classification modifiée : {label}.",
        "document.delete": "Supprimer",
        "document.delete.confirm": "Je confirme la suppression définitive de ce document.",
        "document.delete.submit": "Supprimer le document",
        "document.deleted": "Document {id} supprimé.",
        "document.col.version": "Version",
        "document.col.file": "Fichier",
        "document.col.by": "Par",
        "document.col.date": "Date",
        "error.title": "Refusé",
        "error.401": "Connexion requise",
        "error.403": "Accès refusé",
        "error.404": "Introuvable",
        "error.400": "Demande invalide",
        "error.409": "Conflit",
        "error.413": "Trop volumineux",
        "error.429": "Trop de demandes",
        "error.500": "Erreur interne",
        "error.back": "Retour à l'accueil",
        "error.csrf": (
            "La page a expiré ou la demande ne vient pas de la console ; rechargez "
            "la page et recommencez."
        ),
        "ask.title": "Poser une question",
        "ask.history": "Mes conversations",
        "ask.history.empty": "Aucune conversation.",
        "ask.new": "Nouvelle conversation",
        "ask.working": "Niveau de travail",
        "ask.working.help": (
            "Choisi avant de poser la question : seuls les niveaux couverts par votre "
            "habilitation sont proposés. La réponse est classifiée au moins à ce niveau."
        ),
        "ask.collection": "Collection",
        "ask.collection.all": "toutes celles que vous pouvez consulter",
        "ask.question": "Question",
        "ask.submit": "Demander",
        "ask.pending": "Recherche dans les documents…",
        "ask.answer.label": "Classification de la réponse :",
        "ask.conversation.label": "Classification de la conversation :",
        "ask.citations": "Sources citées",
        "ask.citation.untitled": "Document sans titre",
        "ask.citation.hidden": "Passage d'un document d'un niveau supérieur (titre masqué)",
        "ask.delete": "Supprimer la conversation",
        "ask.deleted": "La conversation a été supprimée.",
        "ask.nocollection": "Aucune collection ne vous est ouverte.",
        "ask.col.title": "Première question",
        "ask.col.messages": "Messages",
        "ask.col.updated": "Mise à jour",
        "nav.ask": "Poser une question",
        # proposals (console/pages/proposals.py)
        "nav.proposals": "Propositions",
        "proposals.title": "Propositions",
        "proposals.filter": "État",
        "proposals.filter.submit": "Filtrer",
        "proposals.state.all": "Tous",
        "proposals.state.proposed": "À décider",
        "proposals.state.approved": "Approuvée",
        "proposals.state.rejected": "Rejetée",
        "proposals.state.draft": "Brouillon",
        "proposals.col.title": "Proposition",
        "proposals.col.kind": "Nature",
        "proposals.col.state": "État",
        "proposals.col.approvals": "Approbations",
        "proposals.col.author": "Auteur",
        "proposals.col.updated": "Dernier événement",
        "proposals.empty": "Aucune proposition que vous puissiez consulter.",
        "proposal.by": "rédigée par {author}",
        "proposal.workflow": "chaîne",
        "proposal.model": "modèle",
        "proposal.rule": "Règle des deux personnes",
        "proposal.rule.count": "{given} approbation(s) sur {required} requise(s)",
        "proposal.rule.kind": (
            "Une proposition de nature « {kind} » demande {n} approbateur(s) distinct(s)."
        ),
        "proposal.rule.sensitive": (
            "Classifiée SECRET ou au-dessus : deux approbateurs distincts au moins, quelle "
            "que soit sa nature."
        ),
        "proposal.rule.authors": "Auteurs de cette version (ne peuvent pas l'approuver) : {names}",
        "proposal.rule.approved_by": "Approuvée (pour cette version) par :",
        "proposal.rule.expires": "approbation valable jusqu'au {at}",
        "proposal.content": "Contenu",
        "proposal.version.original": "Original",
        "proposal.version.current": "Version amendée (en vigueur)",
        "proposal.version.only": "Texte proposé",
        "proposal.evidence": "Éléments à l'appui",
        "proposal.evidence.none": "Aucun élément à l'appui n'est cité.",
        "proposal.evidence.passage": "passage {n}",
        "proposal.evidence.document": "document {n}",
        "proposal.decide": "Décision",
        "proposal.decide.author": (
            "Vous avez rédigé ou amendé cette version : un autre approbateur doit l'approuver."
        ),
        "proposal.decide.already": (
            "Vous avez déjà approuvé cette version ; un autre approbateur est nécessaire."
        ),
        "proposal.rationale": "Motif (obligatoire)",
        "proposal.rationale.optional": "Motif (facultatif)",
        "proposal.approve": "Approuver",
        "proposal.reject": "Rejeter",
        "proposal.amend": "Amender",
        "proposal.amend.content": "Contenu amendé (JSON)",
        "proposal.amend.help": (
            "L'original est conservé à côté ; les approbations déjà données tombent et vous "
            "devenez auteur de la nouvelle version."
        ),
        "proposal.dissent": "Exprimer un désaccord",
        "proposal.dissent.submit": "Enregistrer le désaccord",
        "proposal.export": "Exporter",
        "proposal.export.format": "Format",
        "proposal.export.help": (
            "Le document porte le marquage en tête et en pied de page ; l'export est journalisé."
        ),
        "proposal.export.submit": "Télécharger",
        "proposal.history": "Historique",
        "proposal.col.action": "Étape",
        "proposal.col.rationale": "Motif",
        "proposal.col.version": "Version (SHA-256)",
        "proposal.event.create": "Création",
        "proposal.event.submit": "Soumission",
        "proposal.event.approve": "Approbation",
        "proposal.event.reject": "Rejet",
        "proposal.event.amend": "Amendement",
        "proposal.event.dissent": "Désaccord",
        "proposal.event.release": "Diffusion",
        "proposal.done.approved": "Approbation enregistrée.",
        "proposal.done.rejected": "Proposition rejetée.",
        "proposal.done.amended": (
            "Amendement enregistré ; les approbations précédentes sont tombées."
        ),
        "proposal.done.dissented": "Désaccord enregistré.",
        # cadmin: audit and administration pages
        "nav.audit": "Journal d'audit",
        "nav.admin": "Administration",
        # alerts (console/pages/alerts.py)
        "nav.alerts": "Alertes",
        "alerts.title": "Alertes",
        "alerts.feed": "Alertes en direct",
        "alerts.feed.help": (
            "Les dernières alertes que vous pouvez consulter, les plus récentes en tête ; "
            "les nouvelles apparaissent sans recharger la page."
        ),
        "alerts.live": "En direct",
        "alerts.reconnecting": "Connexion perdue : nouvelle tentative…",
        "alerts.stopped": "Flux arrêté : votre session a pris fin.",
        "alerts.signin": "Se reconnecter",
        "alerts.empty": "Aucune alerte que vous puissiez consulter pour l'instant.",
        "alerts.channel": "Canal",
        "alerts.watchlist": "Liste de veille",
        "alerts.matched": "Termes relevés",
        "alerts.message": "Message",
        "alerts.watchlists": "Listes de veille",
        "alerts.watchlists.empty": "Aucune liste de veille que vous puissiez consulter.",
        "alerts.watchlist.name": "Nom",
        "alerts.watchlist.kind": "Nature",
        "alerts.watchlist.terms": "Termes",
        "alerts.watchlist.terms.help": (
            "Un terme ou une expression par ligne ; un terme relève un mot ou une expression "
            "entière, sans tenir compte de la casse."
        ),
        "alerts.watchlist.by": "Créée par",
        "alerts.watchlist.label": "Classification de la liste",
        "alerts.watchlist.label.help": (
            "Les termes peuvent être sensibles : la liste et ses alertes sont classifiées au "
            "moins à ce niveau."
        ),
        "alerts.watchlist.create": "Créer une liste de veille",
        "alerts.watchlist.submit": "Créer la liste",
        "alerts.kind.terms": "Termes",
        "alerts.done.watchlist": "Liste de veille créée.",
        "alerts.channels": "Synthèses par canal",
        "alerts.channels.empty": "Aucun canal où vous puissiez lire un message.",
        "alerts.channels.messages": "Messages",
        "alerts.channels.last": "Dernier message",
        "alerts.channels.window": "Période",
        "alerts.channels.hours": "{n} dernières heures",
        "alerts.channels.summarise": "Synthétiser",
        "alerts.channels.summary": "Synthèse du canal {channel}",
        "alerts.channels.extent": (
            "{n} messages que vous pouvez lire, du {since} au {until} (UTC)."
        ),
        "alerts.channels.nothing": "Aucun message que vous puissiez lire dans cette période.",
        "alerts.channels.entities": "Entités citées :",
        "audit.title": "Journal d'audit",
        "audit.filters": "Filtres du journal",
        "audit.actor": "Acteur",
        "audit.action": "Action (préfixe)",
        "audit.object": "Objet",
        "audit.outcome": "Issue",
        "audit.outcome.all": "toutes",
        "audit.outcome.allowed": "accordée",
        "audit.outcome.refused": "refusée",
        "audit.since": "Depuis (UTC)",
        "audit.until": "Jusqu'à (UTC)",
        "audit.filter": "Filtrer",
        "audit.verify": "Vérifier la chaîne",
        "audit.export": "Exporter les entrées filtrées",
        "audit.hint": (
            "Seules les entrées que votre habilitation domine sont listées et exportées ; "
            "chaque lecture, vérification et export est lui-même journalisé."
        ),
        "audit.col.seq": "N°",
        "audit.col.time": "Date (UTC)",
        "audit.col.marking": "Marquage",
        "audit.col.objects": "Objets",
        "audit.col.details": "Détails",
        "audit.empty": "Aucune entrée ne correspond.",
        "audit.paging": "Pages du journal",
        "audit.newest": "Les plus récentes",
        "audit.older": "Plus anciennes",
        "audit.verify.title": "Vérification du journal",
        "audit.verify.ok": (
            "La chaîne est intègre : {entries} entrées et {checkpoints} points de contrôle "
            "signés vérifiés."
        ),
        "audit.verify.broken": "La chaîne est ROMPUE à l'entrée {seq} ({problem}).",
        "audit.verify.what": (
            "Conservez la base en l'état, prévenez l'officier de sécurité et comparez avec le"
            " dernier export complet (egide audit export)."
        ),
        "audit.verify.witnessed": "{n} sceaux du témoin vérifiés.",
        "audit.back": "Retour au journal",
        "admin.title": "Administration",
        "admin.people": "Organisations et utilisateurs",
        "admin.models": "Modèles",
        "admin.usage": "Quotas et consommation",
        "admin.users": "Utilisateurs",
        "admin.username": "Identifiant",
        "admin.kind": "Type",
        "admin.display_name": "Nom affiché",
        "admin.state": "État",
        "admin.enabled": "actif",
        "admin.disabled": "désactivé",
        "admin.user.add": "Créer un utilisateur",
        "admin.clearance.hint": (
            "Écrite comme dans labels.md (ex. SECRET NAT FRA) ; jamais au-dessus de la vôtre "
            "({mine})."
        ),
        "admin.orgs": "Organisations",
        "admin.org.name": "Nom",
        "admin.org.parent": "Organisation mère",
        "admin.org.description": "Description",
        "admin.org.add": "Créer une organisation",
        "admin.user.edit": "Modifier le compte",
        "admin.save": "Enregistrer",
        "admin.enable": "Réactiver le compte",
        "admin.disable": "Désactiver le compte",
        "admin.self": (
            "Vous ne pouvez pas désactiver votre propre compte : un autre administrateur doit"
            " le faire."
        ),
        "admin.keys": "Clés d'API",
        "admin.key.id": "Identifiant",
        "admin.key.name": "Usage",
        "admin.key.scopes": "Rôles permis",
        "admin.key.created": "Créée",
        "admin.key.expires": "Expire",
        "admin.key.never": "jamais",
        "admin.key.revoked": "révoquée",
        "admin.key.revoke": "Révoquer",
        "admin.key.create": "Créer une clé",
        "admin.key.ttl": "Durée de vie (jours, 0 : illimitée)",
        "admin.key.once": (
            "Voici la clé. Elle n'est affichée qu'une fois : remettez-la maintenant à son "
            "titulaire par un moyen sûr."
        ),
        "admin.model.name": "Modèle",
        "admin.model.label": "Marquage des poids",
        "admin.model.accreditation": "Homologation",
        "admin.model.digests": "Empreintes (SHA-256)",
        "admin.model.reason": "Motif",
        "admin.model.disable": "Couper (coupe-circuit)",
        "admin.model.enable": "Rétablir",
        "admin.usage.hint": (
            "Quotas par minute en vigueur et requêtes aux modèles des dernières 24 heures "
            "(comptées dans le journal)."
        ),
        "admin.usage.who": "Utilisateur ou organisation",
        "admin.usage.rpm": "Requêtes / min",
        "admin.usage.tpm": "Jetons / min",
        "admin.usage.requests": "Requêtes (24 h)",
        "admin.usage.tokens": "Jetons (24 h)",
        "admin.usage.unlimited": "illimité",
        "admin.done.org": "Organisation créée.",
        "admin.done.added": "Utilisateur créé.",
        "admin.done.updated": "Compte modifié.",
        "admin.done.disabled": "Désactivé.",
        "admin.done.enabled": "Réactivé.",
        "admin.done.key": "Clé créée.",
        "admin.done.revoked": "Clé révoquée.",
    },
    "en": {
        "app.name": "Égide",
        "skip": "Skip to content",
        "nav.home": "Home",
        "nav.documents": "Documents",
        "nav.upload": "Upload a document",
        "nav.label": "Main navigation",
        "user.clearance": "Clearance",
        "user.organisation": "Organisation",
        "user.none": "none",
        "user.roles": "Roles",
        "signout": "Sign out",
        "language": "Language",
        "language.switch": "Français",
        "banner.label": "Page classification",
        "signin.title": "Sign in",
        "signin.intro": "Sign in with the ministry's identity provider or with an Égide API key.",
        "signin.oidc": "Sign in with the identity provider",
        "signin.key": "API key",
        "signin.key.help": "The key starts with egk_; an administrator gave it to you.",
        "signin.submit": "Sign in",
        "signin.continue": "Signed in. Continue",
        "signin.failed": "Sign-in refused: {reason}",
        "signin.throttled": (
            "Too many failed sign-ins from this computer: try again in {seconds} s."
        ),
        "signin.expired": "Your session has expired or is no longer valid; sign in again.",
        "home.title": "Home",
        "home.welcome": "Welcome, {name}.",
        "home.may": "What you may do",
        "home.nothing": "You hold no role: ask an administrator for one.",
        "action.model.use": "Use the models",
        "action.knowledge.search": "Search the knowledge base",
        "action.knowledge.ask": "Ask the knowledge base",
        "action.knowledge.ingest": "Upload documents",
        "action.document.read": "Read documents",
        "action.document.relabel": "Relabel documents",
        "action.document.declassify": "Declassify documents",
        "action.document.delete": "Delete documents",
        "action.collection.list": "List collections",
        "action.synthesis.run": "Run an intelligence synthesis",
        "action.proposal.create": "Create proposals",
        "action.proposal.read": "Read proposals",
        "action.proposal.decide": "Decide on proposals",
        "action.proposal.dissent": "Record a dissent",
        "action.proposal.release": "Release proposals",
        "action.audit.read": "Read the audit journal",
        "action.administer": "Administer the platform",
        "action.models.manage": "Manage models",
        "documents.title": "Documents",
        "documents.search": "Search by title or file name",
        "documents.search.submit": "Search",
        "documents.empty": "No document you may read.",
        "documents.col.marking": "Marking",
        "documents.col.title": "Title",
        "documents.col.collection": "Collection",
        "documents.col.version": "Version",
        "documents.col.passages": "Passages",
        "documents.col.created": "Uploaded",
        "documents.more": "Next documents",
        "upload.title": "Upload a document",
        "upload.file": "File",
        "upload.collection": "Collection",
        "upload.label": "Classification",
        "upload.label.auto": "Read from the document (markings)",
        "upload.label.help": (
            "Only levels your clearance covers are offered. A higher marking in the "
            "document prevails."
        ),
        "upload.submit": "Upload",
        "upload.progress": "Upload",
        "upload.done": "Document uploaded: {title} ({marking}).",
        "upload.nocollection": "No collection is open to you.",
        "proposal.plan": "See the plan: map and routes",
        "plan.title": "Plan {id}",
        "plan.meta": "by {author} · cost {cost} · {status}",
        "plan.proposal": "Proposal {id}: approve or reject",
        "plan.noproposal": "This plan has not been proposed yet (egide plan propose, or the API).",
        "plan.map.alt": "Map of the plan's routes",
        "plan.routes": "Routes",
        "plan.unserved": "Unserved",
        "plan.col.vehicle": "Vehicle",
        "plan.col.stops": "Stops",
        "plan.col.distance": "Distance",
        "plan.col.duration": "Duration",
        "plan.col.cost": "Cost",
        "document.versions": "Versions",
        "document.passages": "Passages",
        "document.passage": "Passage {n}",
        "document.page": "page {n}",
        "document.relabel": "Relabel",
        "document.relabel.label": "New classification",
        "document.relabel.rationale": "Rationale (required to lower)",
        "document.relabel.submit": "Relabel",
        "document.relabelled": "Label changed: {label}.",
        "document.delete": "Delete",
        "document.delete.confirm": "I confirm this document is deleted for good.",
        "document.delete.submit": "Delete the document",
        "document.deleted": "Document {id} deleted.",
        "document.col.version": "Version",
        "document.col.file": "File",
        "document.col.by": "By",
        "document.col.date": "Date",
        "error.title": "Refused",
        "error.401": "Sign-in required",
        "error.403": "Access refused",
        "error.404": "Not found",
        "error.400": "Invalid request",
        "error.409": "Conflict",
        "error.413": "Too large",
        "error.429": "Too many requests",
        "error.500": "Internal error",
        "error.back": "Back to the home page",
        "error.csrf": (
            "The page has expired or the request did not come from the console; "
            "reload the page and try again."
        ),
        "ask.title": "Ask a question",
        "ask.history": "My conversations",
        "ask.history.empty": "No conversation.",
        "ask.new": "New conversation",
        "ask.working": "Working label",
        "ask.working.help": (
            "Chosen before asking: only the levels your clearance covers are offered. "
            "The answer is classified at least at this level."
        ),
        "ask.collection": "Collection",
        "ask.collection.all": "every one you may use",
        "ask.question": "Question",
        "ask.submit": "Ask",
        "ask.pending": "Searching the documents…",
        "ask.answer.label": "Answer's classification:",
        "ask.conversation.label": "Conversation's classification:",
        "ask.citations": "Cited sources",
        "ask.citation.untitled": "Untitled document",
        "ask.citation.hidden": "Passage of a higher-marked document (title hidden)",
        "ask.delete": "Delete the conversation",
        "ask.deleted": "The conversation was deleted.",
        "ask.nocollection": "No collection is open to you.",
        "ask.col.title": "First question",
        "ask.col.messages": "Messages",
        "ask.col.updated": "Updated",
        "nav.ask": "Ask",
        # proposals (console/pages/proposals.py)
        "nav.proposals": "Proposals",
        "proposals.title": "Proposals",
        "proposals.filter": "State",
        "proposals.filter.submit": "Filter",
        "proposals.state.all": "All",
        "proposals.state.proposed": "Awaiting decision",
        "proposals.state.approved": "Approved",
        "proposals.state.rejected": "Rejected",
        "proposals.state.draft": "Draft",
        "proposals.col.title": "Proposal",
        "proposals.col.kind": "Kind",
        "proposals.col.state": "State",
        "proposals.col.approvals": "Approvals",
        "proposals.col.author": "Author",
        "proposals.col.updated": "Last event",
        "proposals.empty": "No proposal that you may read.",
        "proposal.by": "written by {author}",
        "proposal.workflow": "workflow",
        "proposal.model": "model",
        "proposal.rule": "Two-person rule",
        "proposal.rule.count": "{given} of {required} required approval(s)",
        "proposal.rule.kind": "A proposal of kind “{kind}” needs {n} distinct approver(s).",
        "proposal.rule.sensitive": (
            "Labelled SECRET or above: at least two distinct approvers, whatever its kind."
        ),
        "proposal.rule.authors": "Authors of this version (may not approve it): {names}",
        "proposal.rule.approved_by": "Approved (this version) by:",
        "proposal.rule.expires": "approval valid until {at}",
        "proposal.content": "Content",
        "proposal.version.original": "Original",
        "proposal.version.current": "Amended version (current)",
        "proposal.version.only": "Proposed text",
        "proposal.evidence": "Evidence",
        "proposal.evidence.none": "No evidence is cited.",
        "proposal.evidence.passage": "passage {n}",
        "proposal.evidence.document": "document {n}",
        "proposal.decide": "Decision",
        "proposal.decide.author": (
            "You wrote or amended this version: another approver must approve it."
        ),
        "proposal.decide.already": (
            "You have already approved this version; another approver is needed."
        ),
        "proposal.rationale": "Rationale (required)",
        "proposal.rationale.optional": "Rationale (optional)",
        "proposal.approve": "Approve",
        "proposal.reject": "Reject",
        "proposal.amend": "Amend",
        "proposal.amend.content": "Amended content (JSON)",
        "proposal.amend.help": (
            "The original is kept beside it; approvals already given lapse and you become an "
            "author of the new version."
        ),
        "proposal.dissent": "Record a dissent",
        "proposal.dissent.submit": "Record the dissent",
        "proposal.export": "Export",
        "proposal.export.format": "Format",
        "proposal.export.help": (
            "The document carries its marking at the top and bottom of each page; the export "
            "is journaled."
        ),
        "proposal.export.submit": "Download",
        "proposal.history": "History",
        "proposal.col.action": "Step",
        "proposal.col.rationale": "Rationale",
        "proposal.col.version": "Version (SHA-256)",
        "proposal.event.create": "Created",
        "proposal.event.submit": "Submitted",
        "proposal.event.approve": "Approved",
        "proposal.event.reject": "Rejected",
        "proposal.event.amend": "Amended",
        "proposal.event.dissent": "Dissent",
        "proposal.event.release": "Released",
        "proposal.done.approved": "Approval recorded.",
        "proposal.done.rejected": "Proposal rejected.",
        "proposal.done.amended": "Amendment recorded; earlier approvals have lapsed.",
        "proposal.done.dissented": "Dissent recorded.",
        # cadmin: audit and administration pages
        "nav.audit": "Audit journal",
        "nav.admin": "Administration",
        # alerts (console/pages/alerts.py)
        "nav.alerts": "Alerts",
        "alerts.title": "Alerts",
        "alerts.feed": "Live alerts",
        "alerts.feed.help": (
            "The latest alerts you may read, newest first; new ones appear without reloading "
            "the page."
        ),
        "alerts.live": "Live",
        "alerts.reconnecting": "Connection lost: trying again…",
        "alerts.stopped": "Feed stopped: your session has ended.",
        "alerts.signin": "Sign in again",
        "alerts.empty": "No alert you may read yet.",
        "alerts.channel": "Channel",
        "alerts.watchlist": "Watchlist",
        "alerts.matched": "Matched terms",
        "alerts.message": "Message",
        "alerts.watchlists": "Watchlists",
        "alerts.watchlists.empty": "No watchlist you may read.",
        "alerts.watchlist.name": "Name",
        "alerts.watchlist.kind": "Kind",
        "alerts.watchlist.terms": "Terms",
        "alerts.watchlist.terms.help": (
            "One term or phrase per line; a term matches a whole word or phrase, whatever its case."
        ),
        "alerts.watchlist.by": "Created by",
        "alerts.watchlist.label": "Watchlist classification",
        "alerts.watchlist.label.help": (
            "Terms may be sensitive: the watchlist and its alerts are classified at least at "
            "this level."
        ),
        "alerts.watchlist.create": "Create a watchlist",
        "alerts.watchlist.submit": "Create the watchlist",
        "alerts.kind.terms": "Terms",
        "alerts.done.watchlist": "Watchlist created.",
        "alerts.channels": "Channel summaries",
        "alerts.channels.empty": "No channel in which you may read a message.",
        "alerts.channels.messages": "Messages",
        "alerts.channels.last": "Last message",
        "alerts.channels.window": "Period",
        "alerts.channels.hours": "last {n} hours",
        "alerts.channels.summarise": "Summarise",
        "alerts.channels.summary": "Summary of channel {channel}",
        "alerts.channels.extent": "{n} messages you may read, from {since} to {until} (UTC).",
        "alerts.channels.nothing": "No message you may read in this period.",
        "alerts.channels.entities": "Entities named:",
        "audit.title": "Audit journal",
        "audit.filters": "Journal filters",
        "audit.actor": "Actor",
        "audit.action": "Action (prefix)",
        "audit.object": "Object",
        "audit.outcome": "Outcome",
        "audit.outcome.all": "any",
        "audit.outcome.allowed": "allowed",
        "audit.outcome.refused": "refused",
        "audit.since": "Since (UTC)",
        "audit.until": "Until (UTC)",
        "audit.filter": "Filter",
        "audit.verify": "Verify the chain",
        "audit.export": "Export the filtered entries",
        "audit.hint": (
            "Only entries your clearance dominates are listed and exported; every read, "
            "verification and export is itself journaled."
        ),
        "audit.col.seq": "No.",
        "audit.col.time": "Time (UTC)",
        "audit.col.marking": "Marking",
        "audit.col.objects": "Objects",
        "audit.col.details": "Details",
        "audit.empty": "No entry matches.",
        "audit.paging": "Journal pages",
        "audit.newest": "Newest",
        "audit.older": "Older",
        "audit.verify.title": "Journal verification",
        "audit.verify.ok": (
            "The chain is intact: {entries} entries and {checkpoints} signed checkpoints verified."
        ),
        "audit.verify.broken": "The chain is BROKEN at entry {seq} ({problem}).",
        "audit.verify.what": (
            "Keep the database as it is, alert the security officer and compare with the last"
            " full export (egide audit export)."
        ),
        "audit.verify.witnessed": "{n} witness seals verified.",
        "audit.back": "Back to the journal",
        "admin.title": "Administration",
        "admin.people": "Organisations and users",
        "admin.models": "Models",
        "admin.usage": "Quotas and usage",
        "admin.users": "Users",
        "admin.username": "Username",
        "admin.kind": "Kind",
        "admin.display_name": "Display name",
        "admin.state": "State",
        "admin.enabled": "active",
        "admin.disabled": "disabled",
        "admin.user.add": "Create a user",
        "admin.clearance.hint": (
            "Written as in labels.md (e.g. SECRET NAT FRA); never above your own ({mine})."
        ),
        "admin.orgs": "Organisations",
        "admin.org.name": "Name",
        "admin.org.parent": "Parent organisation",
        "admin.org.description": "Description",
        "admin.org.add": "Create an organisation",
        "admin.user.edit": "Change the account",
        "admin.save": "Save",
        "admin.enable": "Enable the account",
        "admin.disable": "Disable the account",
        "admin.self": "You may not disable your own account: another administrator must do it.",
        "admin.keys": "API keys",
        "admin.key.id": "Id",
        "admin.key.name": "Purpose",
        "admin.key.scopes": "Roles allowed",
        "admin.key.created": "Created",
        "admin.key.expires": "Expires",
        "admin.key.never": "never",
        "admin.key.revoked": "revoked",
        "admin.key.revoke": "Revoke",
        "admin.key.create": "Create a key",
        "admin.key.ttl": "Lifetime (days, 0: none)",
        "admin.key.once": (
            "Here is the key. It is shown only once: hand it to its holder now, by a safe means."
        ),
        "admin.model.name": "Model",
        "admin.model.label": "Weights marking",
        "admin.model.accreditation": "Accreditation",
        "admin.model.digests": "Digests (SHA-256)",
        "admin.model.reason": "Reason",
        "admin.model.disable": "Disable (kill switch)",
        "admin.model.enable": "Enable",
        "admin.usage.hint": (
            "Per-minute quotas in force and model requests of the last 24 hours (counted from"
            " the journal)."
        ),
        "admin.usage.who": "User or organisation",
        "admin.usage.rpm": "Requests / min",
        "admin.usage.tpm": "Tokens / min",
        "admin.usage.requests": "Requests (24 h)",
        "admin.usage.tokens": "Tokens (24 h)",
        "admin.usage.unlimited": "unlimited",
        "admin.done.org": "Organisation created.",
        "admin.done.added": "User created.",
        "admin.done.updated": "Account changed.",
        "admin.done.disabled": "Disabled.",
        "admin.done.enabled": "Enabled.",
        "admin.done.key": "Key created.",
        "admin.done.revoked": "Key revoked.",
    },
}


def text(lang: str, key: str, **values: object) -> str:
    """The string `key` in `lang` (French when `lang` is unknown), with `values` filled in."""
    catalogue = _TEXTS.get(lang, _TEXTS["fr"])
    template = catalogue.get(key) or _TEXTS["fr"].get(key) or key
    return template.format(**values) if values else template


def keys(lang: str) -> frozenset[str]:
    """The keys of one language (for the test that both languages match)."""
    return frozenset(_TEXTS[lang])


def negotiate(accept_language: str | None, default: str) -> str:
    """The first of our languages the browser's `Accept-Language` names, else `default`."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return sorted(ranked)[0][2] if ranked else default
