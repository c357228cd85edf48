from django.db import connection, connections
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render

from .models import Item


def item(request, item_id):  # type: ignore[no-untyped-def]
    found = Item.objects.filter(id=item_id).first()
    return render(request, "shop/item.html", {"item": found})


def fail(request):  # type: ignore[no-untyped-def]
    raise ValueError("no stock")


def missing(request):  # type: ignore[no-untyped-def]
    raise Http404("no such item")


def raw(request):  # type: ignore[no-untyped-def]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM shop_item WHERE name = %s", ["pen"])
        (count,) = cursor.fetchone()
        cursor.executemany("UPDATE shop_item SET name = name WHERE id = %s", [[1], [2]])
    return JsonResponse({"count": count})


def report(request):  # type: ignore[no-untyped-def]
    with connections["reporting"].cursor() as cursor:
        cursor.execute("SELECT 1")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")
    return HttpResponse("ok")


def export(request):  # type: ignore[no-untyped-def]
    def rows():  # type: ignore[no-untyped-def]
        for name in Item.objects.values_list("name", flat=True):
            yield name + "\n"
        yield "count=%d\n" % Item.objects.count()
    return StreamingHttpResponse(rows(), content_type="text/plain")
