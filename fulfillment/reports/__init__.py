"""Insight: the rejections report (figures, breakdowns, trend, drill-down, CSV) and the Today panel."""
