"""The transition log: every state change goes through `transit` so who, when and why are kept."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Model
from django_fsm import FSMFieldMixin

from oms.models import Order, TransitionLog


def _state_field_name(obj: Model) -> str:
    for field in obj._meta.fields:
        if isinstance(field, FSMFieldMixin):
            return field.name
    raise TypeError(f"{type(obj).__name__} has no state field")


def _order_id_of(obj: Model) -> int | None:
    if isinstance(obj, Order):
        return obj.pk
    return getattr(obj, "order_id", None)


def transit(
    obj: Model, transition: str, *, actor=None, reason: str = "", at: datetime, order_id: int | None = None
) -> TransitionLog:
    """Run `obj.<transition>()` and return its (unsaved) log entry.

    The caller saves `obj` and the entry inside its own transaction (see `record`), so a brokering
    run can change thousands of rows and write their history with one bulk insert.
    Raises django_fsm.TransitionNotAllowed when the move is not allowed from the current state.
    """
    field = _state_field_name(obj)
    source = getattr(obj, field)
    getattr(obj, transition)()
    return TransitionLog(
        object_type=obj._meta.model_name,
        object_id=obj.pk,
        order_id=order_id if order_id is not None else _order_id_of(obj),
        transition=transition,
        source_state=source,
        target_state=getattr(obj, field),
        actor=actor,
        reason=reason,
        at=at,
    )


def record(entries: Iterable[TransitionLog]) -> list[TransitionLog]:
    """Write log entries in one insert."""
    return TransitionLog.objects.bulk_create(list(entries), batch_size=1000)


def transit_and_save(obj: Model, transition: str, *, actor=None, reason: str = "", at: datetime, **kwargs) -> None:
    """The common single-object case: transition, save, log."""
    entry = transit(obj, transition, actor=actor, reason=reason, at=at, **kwargs)
    obj.save()
    entry.save()


def order_history(order: Order) -> list[TransitionLog]:
    """Every transition of the order and everything that belongs to it, oldest first (one query)."""
    return list(
        TransitionLog.objects.filter(order=order).select_related("actor").order_by("at", "pk")
    )
