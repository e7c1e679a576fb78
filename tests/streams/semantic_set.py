"""A small hand-made French/English set for semantic watchlists, and how well it separates.

Four alert descriptions (bilingual, as an operator would write them for a
bilingual flow) and 28 messages: five related to each description, eight
related to none. Every (message, description) pair is a positive when the
message was written for that description, a negative otherwise (20 positives,
92 negatives). The default threshold of semantic watchlists was chosen on it
(`bench/semantic_threshold.py` prints the sweep).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DESCRIPTIONS = {
    "drones": "Observation ou attaque par drone / drone sighting or drone strike",
    "ied": (
        "Engin explosif improvisé découvert ou ayant explosé sur un axe / "
        "IED found or detonated on a route"
    ),
    "medevac": (
        "Demande d'évacuation sanitaire de blessés / casualty evacuation request (MEDEVAC)"
    ),
    "fuel": (
        "Pénurie de carburant ou retard de ravitaillement en carburant / "
        "fuel shortage or refuelling delay"
    ),
}
MESSAGES: list[tuple[str | None, str]] = [
    ("drones", "Deux drones quadricoptères survolent la base avancée depuis 0300."),
    ("drones", "UAV observed hovering above checkpoint 4, heading north."),
    ("drones", "Frappe de munition rôdeuse sur le dépôt de la compagnie, pas de blessé."),
    ("drones", "Small unmanned aircraft dropped a grenade on our position."),
    ("drones", "Bruit de rotor signalé, probable drone de reconnaissance ennemi."),
    ("ied", "Un EEI a explosé au passage du convoi sur la route Lima."),
    ("ied", "Roadside bomb discovered near the bridge, EOD team requested."),
    ("ied", "Fils suspects et bidon enterré repérés sur l'axe MSR Tampa, axe bouclé."),
    ("ied", "IED strike on lead vehicle, route closed."),
    ("ied", "Découverte d'une charge explosive sous un ponceau, démineurs en route."),
    ("medevac", "Deux blessés graves, demande d'évacuation par hélicoptère immédiate."),
    ("medevac", "Request urgent casualty evacuation, one soldier with gunshot wound."),
    ("medevac", "9-line MEDEVAC request: 3 urgent surgical patients at LZ Eagle."),
    ("medevac", "Soldat blessé par éclat, évacuation sanitaire demandée vers le rôle 2."),
    ("medevac", "Casualties need extraction to field hospital as soon as possible."),
    ("fuel", "Le groupement n'a plus que 10 % de gazole, ravitaillement urgent."),
    ("fuel", "Fuel convoy delayed by 24 hours, tanks running low."),
    ("fuel", "Citerne de carburant en panne, le plein des VBCI est reporté."),
    ("fuel", "Diesel stocks critical at FOB Alpha, request resupply."),
    ("fuel", "Retard de livraison du carburant aviation pour les hélicoptères."),
    (None, "Relève de la garde effectuée à 0600 sans incident."),
    (None, "Weather forecast: clear skies, wind 10 knots from the west."),
    (None, "Réunion de coordination avec les autorités locales à 1400."),
    (None, "Mail delivery scheduled for Thursday."),
    (None, "Exercice de tir au fusil d'assaut terminé, munitions comptées."),
    (None, "Radio check complete, all stations loud and clear."),
    (None, "Distribution des rations de combat pour trois jours."),
    (None, "Patrol returned to base, nothing significant to report."),
]

Encode = Callable[[list[str], bool], np.ndarray]
"""(texts, as e5 queries?) -> L2-normalised vectors, one row per text."""


@dataclass(frozen=True)
class Score:
    """How a threshold separates the set's pairs."""

    threshold: float
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / (self.true_positives + self.false_negatives)

    @property
    def f1(self) -> float:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        return 2 * tp / (2 * tp + fp + fn)


def similarities(
    encode: Encode, description_as_query: bool, message_as_query: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarities of the positive pairs and of the negative pairs."""
    descriptions = encode(list(DESCRIPTIONS.values()), description_as_query)
    messages = encode([text for _, text in MESSAGES], message_as_query)
    scores = messages @ descriptions.T
    positive = np.array([[k == d for d in DESCRIPTIONS] for k, _ in MESSAGES])
    return scores[positive], scores[~positive]


def score(positives: np.ndarray, negatives: np.ndarray, threshold: float) -> Score:
    """The counts at one threshold."""
    return Score(
        threshold,
        int((positives >= threshold).sum()),
        int((negatives >= threshold).sum()),
        int((positives < threshold).sum()),
    )


def best(positives: np.ndarray, negatives: np.ndarray) -> Score:
    """The threshold (0.700 to 0.950 by 0.005) with the highest F1."""
    grid = [round(0.70 + 0.005 * i, 3) for i in range(51)]
    return max((score(positives, negatives, t) for t in grid), key=lambda s: s.f1)
