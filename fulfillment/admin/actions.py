"""What the admin actions share: the intermediate page that asks for their input."""

from django.contrib.admin import ActionLocation
from django.shortcuts import render
from django.urls import reverse

MAX_LISTED = 100  # selected objects named on an intermediate page


def render_action_form(modeladmin, request, queryset, *, form, title, submit_label, intro="", describe=str):
    """The intermediate page of an action: the selected objects, the form, and the hidden fields that re-post the action."""
    opts = modeladmin.model._meta
    objects = list(queryset)
    lines = [describe(o) for o in objects[:MAX_LISTED]]
    if len(objects) > MAX_LISTED:
        lines.append(f"… and {len(objects) - MAX_LISTED} more")
    in_change_form = f"{ActionLocation.CHANGE_FORM.value}-action" in request.POST
    action_field = f"{ActionLocation.CHANGE_FORM.value}-action" if in_change_form else "action"
    if in_change_form and objects:
        cancel_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[objects[0].pk])
    else:
        cancel_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "intro": intro,
        "objects": objects,
        "object_lines": lines,
        "form": form,
        "action": request.POST.get(action_field, ""),
        "action_field": action_field,
        "submit_label": submit_label,
        "cancel_url": cancel_url,
    }
    return render(request, "admin/action_form.html", context)
