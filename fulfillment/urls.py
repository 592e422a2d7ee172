from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from fulfillment.forms import LoginForm
from fulfillment.views import customer_choice, health, operations, orders, reject_all, report_issue, reports

handler400 = "fulfillment.middleware.bad_request"
handler500 = "fulfillment.middleware.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", orders.dashboard, name="dashboard"),
    path("store/", orders.facility_switch, name="facility-switch"),
    path("orders/open/", orders.order_list, {"status": "OPEN"}, name="orders-open"),
    path("orders/in-progress/", orders.order_list, {"status": "IN_PROGRESS"}, name="orders-in-progress"),
    path("orders/completed/", orders.order_list, {"status": "COMPLETED"}, name="orders-completed"),
    path("orders/open/reject-all/", reject_all.reject_all, {"status": "OPEN"}, name="reject-all-open"),
    path("orders/in-progress/reject-all/", reject_all.reject_all, {"status": "IN_PROGRESS"}, name="reject-all-in-progress"),
    path("orders/start-picking/", orders.orders_start_picking, name="orders-start-picking"),
    path("orders/<int:order_id>/", orders.order_detail, name="order-detail"),
    path("orders/<int:order_id>/complete/", orders.order_complete, name="order-complete"),
    path("items/<int:item_id>/report/", report_issue.item_report, name="item-report"),
    path("items/<int:item_id>/report/preview/", report_issue.item_report_preview, name="item-report-preview"),
    path("bulk-rejections/<int:bulk_id>/", reject_all.bulk_rejection_status, name="bulk-rejection"),
    path("bulk-rejections/<int:bulk_id>/retry/", reject_all.bulk_rejection_retry, name="bulk-rejection-retry"),
    path("healthz", health.healthz, name="healthz"),
    path("operations/parked/", operations.parked_list, name="operations-parked"),
    path("pickup-choice/<str:token>/", customer_choice.pickup_choice, name="pickup-choice"),
    path("operations/parked/route/", operations.parked_route, name="operations-parked-route"),
    path("reports/rejections/", reports.rejections_report, name="reports-rejections"),
    path("reports/rejections/rows/", reports.rejection_rows, name="reports-rejection-rows"),
    path("reports/rejections.csv", reports.rejections_csv, name="reports-rejections-csv"),
]
