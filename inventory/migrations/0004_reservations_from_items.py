"""Data migration: reservations as data for existing databases.

Before this, a level's reservations existed only implicitly as QOH - ATP, and a NOT_IN_STOCK rejection or a count could
erase other items' reservations. For every level this migration

1. replays its ledger in order and fills in the new `reserved_delta` / `unsellable_delta` of the old rows as the old
   numbers implied them (unsellable: the DAMAGED / WORN_DISPLAY history, reset by a rejection that zeroed the stock and
   capped by what was not available; reserved: the rest of QOH - ATP);
2. sets the truth: QOH stays, `reserved` = the quantities of the OPEN and IN_PROGRESS items there, `unsellable` = the
   replayed history (at most QOH), ATP = max(0, QOH - reserved - unsellable);
3. writes one CORRECTION ledger row per level whose old numbers were off, so that the ledger sums equal the level.

Reads fulfillment's items through the migration state (no import of fulfillment code).
"""

from django.db import migrations
from django.db.models import Sum

ACTIVE = ("OPEN", "IN_PROGRESS")
REFERENCE = "data migration: reservations as data"


def _effects(apps) -> tuple[set[str], set[str]]:
    reasons = apps.get_model("fulfillment", "RejectionReason").objects.values_list("code", "inventory_effect")
    unsellable = {code for code, effect in reasons if effect == "DECREASE_ATP"} | {"DAMAGED", "WORN_DISPLAY"}
    zeroing = {code for code, effect in reasons if effect == "ZERO_ATP_AND_QOH"} | {"NOT_IN_STOCK"}
    return unsellable, zeroing


def reservations_from_items(apps, schema_editor):
    InventoryLevel = apps.get_model("inventory", "InventoryLevel")
    InventoryAdjustment = apps.get_model("inventory", "InventoryAdjustment")
    OrderItem = apps.get_model("fulfillment", "OrderItem")
    unsellable_codes, zeroing_codes = _effects(apps)

    active = {
        (row["facility_id"], row["product_id"]): row["total"]
        for row in OrderItem.objects.filter(status__in=ACTIVE, facility__isnull=False)
        .order_by()
        .values("facility_id", "product_id")
        .annotate(total=Sum("quantity"))
    }
    # 1. replay each level's ledger (old semantics: reserved + unsellable = QOH - ATP after every row)
    replayed: dict[int, tuple[int, int, int, int]] = {}  # level id -> ledger sums (qoh, reserved, unsellable, atp)
    changed_rows = []
    current, qoh, atp, reserved, unsellable = None, 0, 0, 0, 0
    rows = InventoryAdjustment.objects.order_by("level_id", "created_at", "pk").only(
        "pk", "level_id", "kind", "reason", "qoh_delta", "atp_delta"
    )
    for row in rows.iterator(chunk_size=5000):
        if row.level_id != current:
            current, qoh, atp, reserved, unsellable = row.level_id, 0, 0, 0, 0
        qoh += row.qoh_delta
        atp += row.atp_delta
        new_unsellable = unsellable
        if row.kind == "REJECTION" and row.reason in unsellable_codes and row.atp_delta < 0:
            new_unsellable += -row.atp_delta
        elif row.kind == "REJECTION" and row.reason in zeroing_codes:
            new_unsellable = 0
        new_unsellable = max(0, min(new_unsellable, qoh - atp, qoh))
        new_reserved = max(0, qoh - atp - new_unsellable)
        row.reserved_delta, row.unsellable_delta = new_reserved - reserved, new_unsellable - unsellable
        if row.reserved_delta or row.unsellable_delta:
            changed_rows.append(row)
        reserved, unsellable = new_reserved, new_unsellable
        replayed[current] = (qoh, reserved, unsellable, atp)
    InventoryAdjustment.objects.bulk_update(changed_rows, ["reserved_delta", "unsellable_delta"], batch_size=1000)

    # 2. and 3. the truth, and one CORRECTION row per level that was off
    corrections, levels = [], []
    for level in InventoryLevel.objects.order_by("pk").iterator(chunk_size=5000):
        ledger_qoh, ledger_reserved, ledger_unsellable, ledger_atp = replayed.get(level.pk, (0, 0, 0, 0))
        qoh = max(0, level.quantity_on_hand)
        reserved = active.get((level.facility_id, level.product_id), 0)
        unsellable = max(0, min(ledger_unsellable, qoh))
        atp = max(0, qoh - reserved - unsellable)
        deltas = (qoh - ledger_qoh, reserved - ledger_reserved, unsellable - ledger_unsellable, atp - ledger_atp)
        if any(deltas):
            corrections.append(
                InventoryAdjustment(
                    level_id=level.pk, qoh_delta=deltas[0], reserved_delta=deltas[1], unsellable_delta=deltas[2],
                    atp_delta=deltas[3], kind="CORRECTION", reference=REFERENCE,
                )
            )
        if (level.quantity_on_hand, level.reserved, level.unsellable, level.available_to_promise) != (qoh, reserved, unsellable, atp):
            level.quantity_on_hand, level.reserved, level.unsellable, level.available_to_promise = qoh, reserved, unsellable, atp
            levels.append(level)
    InventoryLevel.objects.bulk_update(
        levels, ["quantity_on_hand", "reserved", "unsellable", "available_to_promise"], batch_size=1000
    )
    InventoryAdjustment.objects.bulk_create(corrections, batch_size=1000)


def corrections_undo(apps, schema_editor):
    """Backwards: drop the CORRECTION rows and set QOH / ATP to the old ledger's sums again."""
    InventoryLevel = apps.get_model("inventory", "InventoryLevel")
    InventoryAdjustment = apps.get_model("inventory", "InventoryAdjustment")
    InventoryAdjustment.objects.filter(kind="CORRECTION", reference=REFERENCE).delete()
    sums = {
        row["level_id"]: (row["qoh"], row["atp"])
        for row in InventoryAdjustment.objects.order_by().values("level_id").annotate(qoh=Sum("qoh_delta"), atp=Sum("atp_delta"))
    }
    levels = list(InventoryLevel.objects.all())
    for level in levels:
        level.quantity_on_hand, level.available_to_promise = sums.get(level.pk, (0, 0))
        level.reserved = level.unsellable = 0
    InventoryLevel.objects.bulk_update(
        levels, ["quantity_on_hand", "reserved", "unsellable", "available_to_promise"], batch_size=1000
    )


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0003_level_reserved_unsellable"),
        ("fulfillment", "0002_seed_reasons_and_policy"),
    ]

    operations = [migrations.RunPython(reservations_from_items, corrections_undo)]
