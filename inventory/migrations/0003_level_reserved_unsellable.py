"""Levels gain `reserved` and `unsellable`; the ledger gains their deltas and the kinds FOUND and CORRECTION."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0002_search_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='inventoryadjustment',
            name='reserved_delta',
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name='inventoryadjustment',
            name='unsellable_delta',
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name='inventorylevel',
            name='reserved',
            field=models.IntegerField(default=0, help_text='Units promised to the open and in-progress items here.'),
        ),
        migrations.AddField(
            model_name='inventorylevel',
            name='unsellable',
            field=models.IntegerField(default=0, help_text='Units on hand that cannot be sold (damaged, worn display).'),
        ),
        migrations.AlterField(
            model_name='inventoryadjustment',
            name='kind',
            field=models.CharField(choices=[('RECEIPT', 'Receipt'), ('RESERVE', 'Reserve'), ('RELEASE', 'Release'), ('REJECTION', 'Rejection'), ('COUNT', 'Count'), ('FULFILL', 'Fulfil (shipped)'), ('FOUND', 'Found (shipped more than was counted)'), ('CORRECTION', 'Correction (data migration)')], max_length=16),
        ),
        migrations.AlterField(
            model_name='inventorylevel',
            name='available_to_promise',
            field=models.IntegerField(default=0, help_text='Always max(0, on hand - reserved - unsellable); stored for reads.'),
        ),
    ]
