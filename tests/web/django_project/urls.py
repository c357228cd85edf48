from django.urls import path

from .shop import views

urlpatterns = [
    path("items/<int:item_id>/", views.item),
    path("fail/", views.fail),
    path("missing/", views.missing),
    path("raw/", views.raw),
    path("report/", views.report),
    path("export/", views.export),
]
