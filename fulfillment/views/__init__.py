"""The pages, one module per part: ``orders`` (the tabs, detail, picking), ``report_issue``, ``reject_all``,
``operations`` (staff: the parked queue); ``common`` holds what they share. ``fulfillment/urls.py`` maps them."""
