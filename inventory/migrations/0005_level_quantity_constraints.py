"""Constraints of a level's quantities: all >= 0, unsellable <= QOH, and ATP = max(0, QOH - reserved - unsellable).

Added after the data migration (0004) made every existing level satisfy them.
"""

import django.db.models.expressions
import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0004_reservations_from_items'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='inventorylevel',
            constraint=models.CheckConstraint(condition=models.Q(('quantity_on_hand__gte', 0)), name='inventory_level_qoh_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='inventorylevel',
            constraint=models.CheckConstraint(condition=models.Q(('reserved__gte', 0)), name='inventory_level_reserved_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='inventorylevel',
            constraint=models.CheckConstraint(condition=models.Q(('unsellable__gte', 0)), name='inventory_level_unsellable_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='inventorylevel',
            constraint=models.CheckConstraint(condition=models.Q(('unsellable__lte', models.F('quantity_on_hand'))), name='inventory_level_unsellable_within_qoh'),
        ),
        migrations.AddConstraint(
            model_name='inventorylevel',
            constraint=models.CheckConstraint(condition=models.Q(('available_to_promise', django.db.models.functions.comparison.Greatest(models.Value(0), django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('quantity_on_hand'), '-', models.F('reserved')), '-', models.F('unsellable'))))), name='inventory_level_atp_formula'),
        ),
    ]
