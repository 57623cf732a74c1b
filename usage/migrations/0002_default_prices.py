"""The default price catalogue (docs/usage.md): list prices in USD per million tokens at the time
of writing. Examples to edit, not a promise; an organization's own prices win over these."""

from datetime import date
from decimal import Decimal

from django.db import migrations

DEFAULT_PRICES = [
    # model, input, output, cached input (USD per 1M tokens)
    ("gpt-4o", "2.50", "10.00", "1.25"),
    ("gpt-4o-mini", "0.15", "0.60", "0.075"),
    ("claude-3-5-sonnet", "3.00", "15.00", "0.30"),
    ("claude-3-5-haiku", "0.80", "4.00", "0.08"),
    ("gemini-1.5-pro", "1.25", "5.00", "0.3125"),
]
EFFECTIVE_FROM = date(2024, 1, 1)


def add_default_prices(apps, schema_editor):
    ModelPrice = apps.get_model("usage", "ModelPrice")
    for model, input_price, output_price, cached_price in DEFAULT_PRICES:
        ModelPrice.objects.get_or_create(
            organization=None,
            model=model,
            effective_from=EFFECTIVE_FROM,
            defaults={
                "input_per_million": Decimal(input_price),
                "output_per_million": Decimal(output_price),
                "cached_per_million": Decimal(cached_price),
            },
        )


def remove_default_prices(apps, schema_editor):
    ModelPrice = apps.get_model("usage", "ModelPrice")
    ModelPrice.objects.filter(
        organization=None, effective_from=EFFECTIVE_FROM, model__in=[row[0] for row in DEFAULT_PRICES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("usage", "0001_initial")]

    operations = [migrations.RunPython(add_default_prices, remove_default_prices)]
