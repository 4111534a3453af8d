"""A routing decision in words, for the order timeline, the console and `explain_routing`."""

from oms.models import RoutingDecision
from oms.routing.types import FENCE_ORDER, Decision

FENCE_WORDS = {
    "ACTIVE_ONLINE": "not active online",
    "SERVICE": "service not offered",
    "COUNTRY": "other country",
    "PICKUP_STORE": "not the pickup store",
    "EXCLUDED": "excluded after a rejection",
    "CAPACITY": "over capacity",
    "STOCK": "no stock",
}


def decision_in_words(decision: RoutingDecision | Decision, *, facilities: dict[int, str] | None = None) -> str:
    """E.g. "Sent to Store 12 (score 0.82: stock 1.00, distance 0.74 — 18 km, workload 0.60). 31 facilities
    out: 24 no stock, 5 other country, 2 over capacity."

    `facilities` maps facility ids to names, for facilities that are not among the stored candidates.
    """
    details = decision.details if isinstance(decision, RoutingDecision) else _details_of(decision)
    names = dict(facilities or {})
    candidates = {}
    for candidate in details.get("candidates", []):
        candidates[candidate["facility_id"]] = candidate
        names.setdefault(candidate["facility_id"], candidate.get("name") or candidate.get("facility"))
    for allocation in details.get("allocations", []):
        facility_id = allocation["facility_id"]
        names.setdefault(facility_id, allocation.get("facility") or f"facility {facility_id}")

    sentences = []
    units_to: dict[int, int] = {}
    for allocation in details.get("allocations", []):
        units_to[allocation["facility_id"]] = units_to.get(allocation["facility_id"], 0) + allocation["quantity"]
    if len(units_to) == 1:
        (facility_id,) = units_to
        sentences.append(f"Sent to {names[facility_id]}{_rated(candidates.get(facility_id))}.")
    elif units_to:
        parts = [f"{_units(units)} to {names[fid]}{_rated(candidates.get(fid))}" for fid, units in units_to.items()]
        sentences.append(f"Split across {len(units_to)} facilities: {'; '.join(parts)}.")
    parked: dict[str, int] = {}
    for part in details.get("parked", []):
        parked[part["queue"]] = parked.get(part["queue"], 0) + part["quantity"]
    for queue, units in parked.items():
        lead = "Nothing sent: " if not units_to else ""
        sentences.append(f"{lead}{_units(units)} parked in {queue}.")
    if not units_to and not parked:
        sentences.append("Nothing routed: no rule matches these lines.")
    fences = {name: count for name, count in (details.get("fences") or {}).items() if count}
    if fences:
        order = sorted(fences, key=lambda name: (-fences[name], _fence_rank(name)))
        listed = ", ".join(f"{fences[name]} {FENCE_WORDS.get(name, name.lower())}" for name in order)
        sentences.append(f"{sum(fences.values())} {'facility' if sum(fences.values()) == 1 else 'facilities'} "
                         f"out: {listed}.")
    for note in details.get("notes", []):
        sentences.append(note[:1].upper() + note[1:] + ("" if note.endswith(".") else "."))
    return " ".join(sentences)


def _details_of(decision: Decision) -> dict:
    return {
        "allocations": [
            {"facility_id": a.facility_id, "line_id": a.line_id, "quantity": a.quantity} for a in decision.allocations
        ],
        "parked": [{"line_id": p.line_id, "quantity": p.quantity, "queue": p.queue} for p in decision.parked],
        "candidates": [
            {"facility_id": c.facility_id, "facility": c.code, "name": c.name, "score": c.score,
             "ratings": c.ratings, "distance_km": c.distance_km}
            for c in decision.candidates
        ],
        "fences": decision.fences,
        "notes": decision.notes,
    }


def _rated(candidate: dict | None) -> str:
    if candidate is None:
        return ""
    ratings = candidate.get("ratings") or {}
    shown = []
    if "stock" in ratings:
        shown.append(f"stock {ratings['stock']:.2f}")
    if "distance" in ratings:
        km = candidate.get("distance_km")
        shown.append(f"distance {ratings['distance']:.2f} — " + (f"{km:.0f} km" if km is not None else "unknown"))
    if "workload" in ratings:
        shown.append(f"workload {ratings['workload']:.2f}")
    return f" (score {candidate['score']:.2f}" + (f": {', '.join(shown)})" if shown else ")")


def _units(count: int) -> str:
    return f"{count} unit{'' if count == 1 else 's'}"


def _fence_rank(name: str) -> int:
    return FENCE_ORDER.index(name) if name in FENCE_ORDER else len(FENCE_ORDER)
