"""Who the customers are and how they behave: the generator's latent model, as pure functions.

Everything here is a function of ``(seed, customer_id)`` (or of the seed alone for
the product list), so any customer can be produced again without the ones before
it: output is the same whatever the chunking, and memory never grows with the
number of customers. Randomness comes from :class:`random.Random` seeded with
stable strings, never from global state.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

DEFAULT_CATEGORIES = ("Technology", "Apparel", "Cosmetics", "Home", "Sports")

#: Latent customer types. ``browse`` is the chance of a browsing session on an
#: ordinary day, ``buy`` the baseline daily purchase hazard, ``response`` how
#: strongly recent browsing in a category lifts purchases in it, ``focus`` how
#: concentrated interest is on one favourite category, ``churn`` the daily chance
#: of going quiet, ``price`` the tilt towards dearer products (>1) or bargains (<1).
TYPES = {
    "enthusiast": dict(weight=0.15, browse=0.08, buy=0.006, response=0.050, focus=0.70, churn=0.0015, price=1.3),
    "bargain_hunter": dict(weight=0.20, browse=0.06, buy=0.0045, response=0.030, focus=0.35, churn=0.0030, price=0.6),
    "loyal_regular": dict(weight=0.20, browse=0.03, buy=0.009, response=0.020, focus=0.45, churn=0.0008, price=1.0),
    "window_shopper": dict(weight=0.20, browse=0.05, buy=0.001, response=0.006, focus=0.40, churn=0.0040, price=0.9),
    "occasional": dict(weight=0.25, browse=0.012, buy=0.0025, response=0.025, focus=0.50, churn=0.0030, price=1.0),
}

INCOME_BANDS = ("<25k", "25-50k", "50-75k", "75-100k", "100-150k", "150k+")
INCOME_SPEND = (0.6, 0.8, 1.0, 1.2, 1.5, 2.0)

FIRST_F = ("Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra "
           "Ashley Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Laura Rebecca Sharon Cynthia "
           "Kathleen Amy Angela Anna Emma Olivia Sophia Mia Chloe Grace Zoe Hannah Julia Maria").split()
FIRST_M = ("James Robert John Michael David William Richard Joseph Thomas Charles Christopher Daniel Matthew "
           "Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Jason "
           "Edward Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Liam Noah Ethan Lucas Omar Wei Raj").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
        "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
        "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
        "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Chen Patel Kim O'Brien").split()
DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "example.org")
CITIES = (
    ("New York", "NY"), ("Los Angeles", "CA"), ("Chicago", "IL"), ("Houston", "TX"), ("Phoenix", "AZ"),
    ("Philadelphia", "PA"), ("San Antonio", "TX"), ("San Diego", "CA"), ("Dallas", "TX"), ("Seattle", "WA"),
    ("Denver", "CO"), ("Boston", "MA"), ("Atlanta", "GA"), ("Miami", "FL"), ("Portland", "OR"),
    ("Minneapolis", "MN"), ("Nashville", "TN"), ("Austin", "TX"), ("Columbus", "OH"), ("Charlotte", "NC"),
)

#: Per category: price range (median list price) and the words products are named from.
CATEGORY_TRAITS = {
    "Technology": (180.0, ("Laptop", "Headphones", "Smartwatch", "Tablet", "Camera", "Speaker", "Monitor", "Router"),
                   ("gadgets", "gaming", "photography", "smart home")),
    "Apparel": (45.0, ("Jacket", "Jeans", "Sneakers", "Dress", "Hoodie", "Shirt", "Boots", "Scarf"),
                ("fashion", "streetwear", "outdoor clothing", "vintage")),
    "Cosmetics": (25.0, ("Serum", "Lipstick", "Moisturiser", "Perfume", "Mascara", "Cleanser", "Palette", "Toner"),
                  ("skincare", "makeup", "fragrance", "wellness")),
    "Home": (60.0, ("Lamp", "Blender", "Cushion", "Rug", "Kettle", "Vase", "Cookware Set", "Throw"),
             ("interior design", "cooking", "gardening", "diy")),
    "Sports": (55.0, ("Yoga Mat", "Dumbbells", "Running Shoes", "Bike Helmet", "Tennis Racket", "Backpack",
                      "Water Bottle", "Tent"), ("fitness", "running", "cycling", "camping")),
}
ADJECTIVES = ("Classic", "Pro", "Ultra", "Eco", "Urban", "Essential", "Premium", "Lite", "Max", "Studio")


def rng_for(seed: int, *key) -> random.Random:
    """A generator seeded by ``seed`` and ``key``: stable across runs, processes and Python versions."""
    return random.Random(f"{seed}:" + ":".join(str(k) for k in key))


def traits(category: str) -> tuple[float, tuple[str, ...], tuple[str, ...]]:
    """Median price, product nouns and partner interests for a category (made up for unknown ones)."""
    if category in CATEGORY_TRAITS:
        return CATEGORY_TRAITS[category]
    return (50.0, ("Item", "Kit", "Set", "Pack", "Bundle", "Box"), (category.lower(), "shopping"))


@dataclass(frozen=True)
class Product:
    product_id: int
    name: str
    category: str
    list_price: float


def products(seed: int, categories: tuple[str, ...], per_category: int = 40) -> list[Product]:
    """The catalogue: ``per_category`` products per category, ids dense from 1, sorted by price per category."""
    result = []
    next_id = 1
    for category in categories:
        rng = rng_for(seed, "products", category)
        median, nouns, _ = traits(category)
        made = []
        for _ in range(per_category):
            price = round(median * math.exp(rng.gauss(0, 0.6)), 2)
            price = max(price, 1.99)
            made.append((price, f"{rng.choice(ADJECTIVES)} {rng.choice(nouns)} {rng.randint(100, 999)}"))
        for price, name in sorted(made):
            result.append(Product(next_id, name, category, price))
            next_id += 1
    return result


@dataclass
class Customer:
    """One CRM row plus the hidden traits that drive behaviour (``kind``, ``affinity``...)."""

    customer_id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    gender: str | None
    birth_date: date | None
    income_band: str | None
    household_size: int | None
    head_of_household: bool | None
    city: str | None
    state: str | None
    country: str
    signup_date: date
    marketing_opt_in: bool
    # hidden traits
    kind: str = ""
    favourite: str = ""
    affinity: dict[str, float] = field(default_factory=dict)
    wealth: float = 1.0

    def crm_row(self) -> tuple:
        return (
            self.customer_id, self.first_name, self.last_name, self.email, self.phone, self.gender,
            self.birth_date, self.income_band, self.household_size, self.head_of_household, self.city,
            self.state, self.country, self.signup_date, self.marketing_opt_in,
        )


def _person(rng: random.Random, end: date):
    gender = rng.choice("FM")
    first = rng.choice(FIRST_F if gender == "F" else FIRST_M)
    last = rng.choice(LAST)
    age = int(min(85, max(18, rng.gauss(42, 14))))
    birth = end - timedelta(days=age * 365 + rng.randint(0, 364))
    city, state = rng.choice(CITIES)
    return gender, first, last, birth, city, state


def customer(seed: int, customer_id: int, categories: tuple[str, ...], start: date, end: date) -> Customer:
    """Customer ``customer_id``: CRM fields (with the usual mess) and latent behaviour traits."""
    rng = rng_for(seed, "customer", customer_id)
    gender, first, last, birth, city, state = _person(rng, end)
    # A few duplicate-looking people: the same person signed up twice.
    if customer_id > 10 and rng.random() < 0.01:
        twin = rng_for(seed, "customer", customer_id - rng.randint(1, 10))
        gender, first, last, birth, city, state = _person(twin, end)
    age = (end - birth).days / 365.25
    income_index = min(5, max(0, int(rng.gauss(2.2 + (0.6 if 35 <= age <= 60 else 0), 1.3))))
    kind = rng.choices(list(TYPES), weights=[t["weight"] for t in TYPES.values()])[0]
    # Interests lean by age and gender, then one favourite dominates by the type's focus.
    lean = {c: 1.0 for c in categories}
    if "Cosmetics" in lean and gender == "F":
        lean["Cosmetics"] = 2.5
    if "Technology" in lean and age < 45:
        lean["Technology"] = 2.0
    if "Home" in lean and age > 40:
        lean["Home"] = 1.8
    favourite = rng.choices(list(lean), weights=list(lean.values()))[0]
    focus = TYPES[kind]["focus"]
    rest = [rng.random() for _ in categories]
    total = sum(rest)
    affinity = {c: (1 - focus) * r / total for c, r in zip(categories, rest)}
    affinity[favourite] += focus
    age_spend = 0.8 if age < 25 else 1.2 if age < 55 else 0.9
    wealth = INCOME_SPEND[income_index] * age_spend * TYPES[kind]["price"]

    email_name = f"{first}.{last}".replace("'", "").lower()
    if rng.random() < 0.3:
        email_name += str(rng.randint(1, 99))
    email = f"{email_name}@{rng.choice(DOMAINS)}"
    if rng.random() < 0.15:  # typed with capitals
        email = email.title() if rng.random() < 0.5 else email.upper()
    if rng.random() < 0.03:  # pasted with a trailing space
        email += " "
    span = (end - start).days
    signup = start - timedelta(days=rng.randint(0, 3 * 365)) if rng.random() < 0.7 else start + timedelta(
        days=rng.randint(0, max(span - 1, 0))
    )
    return Customer(
        customer_id=customer_id,
        first_name=first,
        last_name=last + ("  " if rng.random() < 0.02 else ""),
        email=None if rng.random() < 0.02 else email,
        phone=None if rng.random() < 0.2 else f"+1-{rng.randint(201, 989)}-555-{rng.randint(0, 9999):04d}",
        gender=None if rng.random() < 0.04 else gender,
        birth_date=None if rng.random() < 0.06 else birth,
        income_band=None if rng.random() < 0.08 else INCOME_BANDS[income_index],
        household_size=None if rng.random() < 0.1 else max(1, min(6, int(rng.gauss(2.5, 1.3)))),
        head_of_household=None if rng.random() < 0.1 else rng.random() < 0.55,
        city=None if rng.random() < 0.03 else city,
        state=None if rng.random() < 0.03 else state,
        country="US",
        signup_date=signup,
        marketing_opt_in=rng.random() < 0.6,
        kind=kind,
        favourite=favourite,
        affinity=affinity,
        wealth=wealth,
    )


def season(day: date) -> float:
    """Demand multiplier for a day: weekends and the November–December holidays are busier."""
    weekly = 1.25 if day.weekday() >= 5 else 0.95
    doy = day.timetuple().tm_yday
    holidays = 1.0 + 0.8 * math.exp(-(((doy - 340) / 18.0) ** 2))  # peaks early December
    summer = 1.0 + 0.15 * math.exp(-(((doy - 200) / 25.0) ** 2))
    return weekly * holidays * summer


def session_start(rng: random.Random, day: date) -> datetime:
    """A session start time on ``day``: evenings busiest, nights quiet."""
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59))


HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3, 3, 3.5, 4, 3.5, 3, 3, 3.5, 4, 5, 6, 6.5, 5.5, 4, 2)
