"""The canonical tables every adapter produces and every stage consumes.

Each canonical column is named exactly once, here; stages import these names
instead of repeating string literals. A :class:`TableSpec` lists a table's
required and optional columns with their logical type, so ingestion can check a
table at the boundary and later stages can rely on the types.

Logical types:

* ``id``       -- text identifier (kept as a string, never as a number, so that
  ``00042`` and ``42`` stay different customers);
* ``ts``       -- timestamp (timezone-naive, UTC or shop-local as given);
* ``float``    -- real number;
* ``int``      -- integer-valued number;
* ``text``     -- free text;
* ``category`` -- a short label (gender, region, order status ...);
* ``bool``     -- true/false.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- column names --------------------------------------------------------------------------
CUSTOMER_ID = "customer_id"
ORDER_ID = "order_id"
PRODUCT_ID = "product_id"
TS = "ts"
AMOUNT = "amount"
QUANTITY = "quantity"
UNIT_PRICE = "unit_price"
STATUS = "status"
IS_RETURN = "is_return"
DESCRIPTION = "description"

SIGNUP_TS = "signup_ts"
AGE = "age"
GENDER = "gender"
REGION = "region"
CHANNEL = "channel"

EVENT_TYPE = "event_type"
SESSION_ID = "session_id"
QUERY = "query"

TITLE = "title"
CATEGORY = "category"
PRICE = "price"

RATING = "rating"
TEXT = "text"

SEGMENT_ID = "segment_id"
SEGMENT_NAME = "segment_name"

#: Statuses that turn an order line into a return rather than a purchase.
RETURN_STATUSES = frozenset({"returned", "return", "cancelled", "canceled", "refunded"})

#: Customer attributes that identify a person. They are never used as features and are
#: removed from stored tables (pseudonymised ids replace them where one is the id).
PII_COLUMNS = frozenset(
    {
        "email",
        "e_mail",
        "mail",
        "name",
        "first_name",
        "last_name",
        "full_name",
        "phone",
        "phone_number",
        "mobile",
        "address",
        "street",
        "address1",
        "address2",
        "zip",
        "zipcode",
        "postcode",
        "postal_code",
        "ip",
        "ip_address",
        "birthdate",
        "date_of_birth",
        "dob",
    }
)


@dataclass(frozen=True)
class TableSpec:
    """Names and logical types of one canonical table.

    ``required`` columns must be present after mapping (``alternatives`` lists groups
    where any one complete group satisfies the requirement, e.g. ``amount`` or
    ``quantity`` + ``unit_price``).
    """

    name: str
    required: tuple[str, ...]
    optional: dict[str, str]
    types: dict[str, str]
    alternatives: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def columns(self) -> tuple[str, ...]:
        """Every known column: required first, then optional."""
        return self.required + tuple(c for c in self.optional if c not in self.required)


ORDERS = TableSpec(
    name="orders",
    required=(CUSTOMER_ID, ORDER_ID, TS),
    alternatives=((AMOUNT,), (QUANTITY, UNIT_PRICE)),
    optional={
        AMOUNT: "float",
        PRODUCT_ID: "id",
        QUANTITY: "float",
        UNIT_PRICE: "float",
        STATUS: "category",
        DESCRIPTION: "text",
    },
    types={CUSTOMER_ID: "id", ORDER_ID: "id", TS: "ts"},
)

CUSTOMERS = TableSpec(
    name="customers",
    required=(CUSTOMER_ID,),
    optional={SIGNUP_TS: "ts", AGE: "float", GENDER: "category", REGION: "category", CHANNEL: "category"},
    types={CUSTOMER_ID: "id"},
)

EVENTS = TableSpec(
    name="events",
    required=(CUSTOMER_ID, TS, EVENT_TYPE),
    optional={PRODUCT_ID: "id", SESSION_ID: "id", QUERY: "text"},
    types={CUSTOMER_ID: "id", TS: "ts", EVENT_TYPE: "category"},
)

PRODUCTS = TableSpec(
    name="products",
    required=(PRODUCT_ID,),
    optional={TITLE: "text", DESCRIPTION: "text", CATEGORY: "category", PRICE: "float"},
    types={PRODUCT_ID: "id"},
)

REVIEWS = TableSpec(
    name="reviews",
    required=(CUSTOMER_ID, TS),
    optional={RATING: "float", TEXT: "text", PRODUCT_ID: "id"},
    types={CUSTOMER_ID: "id", TS: "ts"},
)

TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (ORDERS, CUSTOMERS, EVENTS, PRODUCTS, REVIEWS)}


def column_type(spec: TableSpec, column: str) -> str | None:
    """Logical type of ``column`` in ``spec`` (None for a column the spec does not know)."""
    return spec.types.get(column) or spec.optional.get(column)
