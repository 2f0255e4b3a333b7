"""Drives a running gateway through a Python SDK generated from openapi/openapi.json.

Run by tests/e2e/sdk.rs with the generated package on PYTHONPATH and argv:
GATEWAY_URL API_KEY STORES_JSON ([{"id", "platform"}, ...]). Exits non-zero (an
AssertionError) on the first thing that does not work as a user of the SDK expects.
"""

import datetime
import json
import sys
from decimal import Decimal

from cartgate_client import AuthenticatedClient
from cartgate_client.api.categories import get_category, list_categories
from cartgate_client.api.customers import count_customers, get_customer, list_customers
from cartgate_client.api.locations import list_locations
from cartgate_client.api.logs import list_logs
from cartgate_client.api.orders import count_orders, create_shipment, get_order, list_orders
from cartgate_client.api.platforms import list_platforms
from cartgate_client.api.products import (
    count_products,
    get_product,
    list_products,
    update_product,
    update_variant,
)
from cartgate_client.api.stores import get_store, get_store_info, list_stores
from cartgate_client.types import UNSET
from cartgate_client.models import (
    InventoryLevel,
    Location,
    NewShipment,
    Order,
    Problem,
    Product,
    ProductUpdate,
    Refund,
    ShippingLine,
    TaxLine,
    VariantUpdate,
    Weight,
    WeightUnit,
)

url, key, stores = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
c = AuthenticatedClient(base_url=url, token=key, raise_on_unexpected_status=True)


def ok(resp, kind):
    assert resp.status_code // 100 == 2, (resp.status_code, resp.content[:300])
    assert isinstance(resp.parsed, kind), (type(resp.parsed), resp.content[:300])
    return resp.parsed


platforms = list_platforms.sync(client=c)
assert {p.id for p in platforms.data} >= {s["platform"] for s in stores}, platforms
fields = {p.id: p.fields for p in platforms.data}
# What each platform does; one it does not answers 501 unsupported_operation.
operations = {p.id: set(p.operations) for p in platforms.data}


def every(lister, **kw):
    """Every item of a cursor-paged list."""
    cursor, out = None, []
    while True:
        page = lister.sync(client=c, cursor=cursor or UNSET, **kw)
        out.extend(page.data)
        cursor = page.next_cursor
        if not cursor:
            return out
listed = list_stores.sync(client=c)
assert {s.id for s in listed.data} == {s["id"] for s in stores}, listed

for s in stores:
    sid, platform = s["id"], s["platform"]
    ops = operations[platform]
    store = get_store.sync(client=c, store_id=sid)
    assert store.platform == platform and store.status.value == "active", store
    info = get_store_info.sync(client=c, store_id=sid)
    assert info.currency, info

    # Orders: a page, the next one through the cursor, a count, one order, typed fields.
    page = list_orders.sync(client=c, store_id=sid, limit=5)
    assert len(page.data) == 5 and page.next_cursor, page
    nxt = list_orders.sync(client=c, store_id=sid, limit=5, cursor=page.next_cursor)
    assert not {o.id for o in page.data} & {o.id for o in nxt.data}, "pages overlap"
    if "orders.count" in ops:
        total = count_orders.sync(client=c, store_id=sid).count
        assert total >= 10, total
    else:
        refused = count_orders.sync_detailed(client=c, store_id=sid)
        assert refused.status_code == 501 and refused.parsed.code == "unsupported_operation", refused
        total = "uncounted"
    order = ok(get_order.sync_detailed(client=c, store_id=sid, order_id=page.data[0].id), Order)
    assert isinstance(order.created_at, datetime.datetime), order.created_at
    assert order.line_items, order

    # A shipment through the SDK's request model, visible on the order afterwards. An order
    # the platform ships itself (Amazon's FBA) answers 422: the next one is tried.
    cursor, target, shipped = None, None, None
    while shipped is None:
        walk = list_orders.sync(client=c, store_id=sid, limit=100, cursor=cursor or UNSET)
        for o in walk.data:
            if o.status.value != "processing" or o.fulfillment_status.value != "unfulfilled":
                continue
            # Letters and digits only: eBay refuses other characters in tracking numbers.
            number = "1ZSDK" + "".join(ch for ch in o.id if ch.isalnum())[-6:]
            resp = create_shipment.sync_detailed(
                client=c,
                store_id=sid,
                order_id=o.id,
                body=NewShipment(carrier="UPS", tracking_number=number),
                idempotency_key="sdk-ship-" + sid + "-" + o.id,
            )
            if resp.status_code == 422:
                assert resp.parsed.code == "validation_failed", resp.parsed
                continue
            target, shipped = o, ok(resp, Order)
            break
        cursor = walk.next_cursor
        assert shipped or cursor, "an unfulfilled order to ship"
    assert isinstance(shipped, Order), shipped
    assert any(x.tracking_number == number for x in shipped.shipments), shipped
    # The retry with the same Idempotency-Key replays the answer instead of shipping again.
    retried = create_shipment.sync_detailed(
        client=c,
        store_id=sid,
        order_id=target.id,
        body=NewShipment(carrier="UPS", tracking_number=number),
        idempotency_key="sdk-ship-" + sid + "-" + target.id,
    )
    assert retried.status_code == 201, retried
    assert retried.headers.get("idempotent-replayed") == "true", retried.headers
    assert len(ok(retried, Order).shipments) == len(shipped.shipments), retried.parsed
    again = get_order.sync(client=c, store_id=sid, order_id=target.id)
    assert any(x.tracking_number == number for x in again.shipments), again

    # Products: list, count, get, update, a variant update.
    products = list_products.sync(client=c, store_id=sid, limit=50).data
    if "products.count" in ops:
        assert count_products.sync(client=c, store_id=sid).count >= len(products)
    simple = next(p for p in products if len(p.variants) <= 1)
    renamed = update_product.sync(
        client=c, store_id=sid, product_id=simple.id, body=ProductUpdate(name=simple.name + " (SDK)")
    )
    assert renamed.name == simple.name + " (SDK)", renamed
    assert get_product.sync(client=c, store_id=sid, product_id=simple.id).name == renamed.name
    # A variant whose whole stock the merchant sets (not Amazon's FBA stock).
    with_variants = next(
        p for p in products
        if len(p.variants) > 1
        and all(l.location_id != "AMAZON_NA" for l in p.variants[0].inventory_levels)
    )
    v = with_variants.variants[0]
    after = update_variant.sync(
        client=c,
        store_id=sid,
        product_id=with_variants.id,
        variant_id=v.id,
        body=VariantUpdate(price="42.50", quantity=3),
    )
    changed = next(x for x in after.variants if x.id == v.id)
    assert changed.price == "42.50" and changed.quantity == 3, changed

    # The shipping and invoicing model, typed as the spec says.
    f = fields[platform]
    orders = every(list_orders, store_id=sid, limit=100)
    if "refunds" in f.order:
        refund = next(r for o in orders for r in o.refunds)
        assert isinstance(refund, Refund) and Decimal(refund.amount) > 0, refund
    if "shipping_lines" in f.order:
        line = next(s for o in orders for s in o.shipping_lines)
        assert isinstance(line, ShippingLine), line
    if "tax_lines" in f.order:
        taxes = [t for o in orders for t in o.tax_lines]
        assert taxes, "tax lines"
        for tax in taxes:
            # eBay names its taxes, Amazon does not; neither gives a rate (null).
            assert isinstance(tax, TaxLine) and Decimal(tax.amount) >= 0, tax
            assert tax.rate is None or 0 <= Decimal(tax.rate) < 1, tax
        assert platform in ("ebay", "amazon") or any(t.rate is not None for t in taxes), taxes
    products = every(list_products, store_id=sid, limit=100)
    if "weight" in f.variant:
        weighed = next(v.weight for p in products for v in p.variants if v.weight)
        assert isinstance(weighed, Weight) and isinstance(weighed.unit, WeightUnit), weighed

    # Stock by location: read the locations, set the level at one of them.
    locations = list_locations.sync(client=c, store_id=sid).data
    assert locations and all(isinstance(x, Location) for x in locations), locations
    if "inventory_levels" in f.variant:
        p, v = next((p, v) for p in products for v in p.variants if v.inventory_levels)
        level = v.inventory_levels[0]
        after = ok(
            update_variant.sync_detailed(
                client=c,
                store_id=sid,
                product_id=p.id,
                variant_id=v.id,
                body=VariantUpdate(
                    inventory_levels=[
                        InventoryLevel(location_id=level.location_id, available=max(level.available, 0) + 2)
                    ]
                ),
            ),
            Product,
        )
        now = next(x for x in after.variants if x.id == v.id)
        got = {x.location_id: x.available for x in now.inventory_levels}
        assert got[level.location_id] == max(level.available, 0) + 2, now

    # Customers and categories (a platform without them answers 501 unsupported_operation).
    if "customers.list" in operations[platform]:
        customers = list_customers.sync(client=c, store_id=sid, limit=3).data
        assert customers and count_customers.sync(client=c, store_id=sid).count >= len(customers)
        assert get_customer.sync(client=c, store_id=sid, customer_id=customers[0].id).id == customers[0].id
        categories = list_categories.sync(client=c, store_id=sid).data
        assert categories
        assert get_category.sync(client=c, store_id=sid, category_id=categories[0].id).name == categories[0].name
    else:
        for resp in (
            list_customers.sync_detailed(client=c, store_id=sid, limit=3),
            list_categories.sync_detailed(client=c, store_id=sid),
        ):
            assert resp.status_code == 501 and resp.parsed.code == "unsupported_operation", resp

    # Errors arrive as the Problem model with a stable code.
    missing = get_order.sync_detailed(client=c, store_id=sid, order_id="999999999")
    assert missing.status_code == 404 and isinstance(missing.parsed, Problem), missing
    assert missing.parsed.code == "not_found", missing.parsed
    bad = list_orders.sync_detailed(client=c, store_id=sid, limit=1000)
    assert bad.status_code == 400 and bad.parsed.code == "validation_failed", bad.parsed
    print(f"{platform}: ok ({total} orders)")

logs = list_logs.sync(client=c, limit=20)
assert logs.data and all(e.status for e in logs.data), logs
print("sdk: ok")
