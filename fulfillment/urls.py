from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from fulfillment import views
from fulfillment import views_operations

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("store/", views.facility_switch, name="facility-switch"),
    path("orders/open/", views.order_list, {"status": "OPEN"}, name="orders-open"),
    path("orders/in-progress/", views.order_list, {"status": "IN_PROGRESS"}, name="orders-in-progress"),
    path("orders/completed/", views.order_list, {"status": "COMPLETED"}, name="orders-completed"),
    path("orders/open/reject-all/", views.reject_all, {"status": "OPEN"}, name="reject-all-open"),
    path("orders/in-progress/reject-all/", views.reject_all, {"status": "IN_PROGRESS"}, name="reject-all-in-progress"),
    path("orders/start-picking/", views.orders_start_picking, name="orders-start-picking"),
    path("orders/<int:order_id>/", views.order_detail, name="order-detail"),
    path("orders/<int:order_id>/complete/", views.order_complete, name="order-complete"),
    path("items/<int:item_id>/report/", views.item_report, name="item-report"),
    path("items/<int:item_id>/report/preview/", views.item_report_preview, name="item-report-preview"),
    path("bulk-rejections/<int:bulk_id>/", views.bulk_rejection_status, name="bulk-rejection"),
    path("operations/parked/", views_operations.parked_list, name="operations-parked"),
    path("operations/parked/route/", views_operations.parked_route, name="operations-parked-route"),
]
