"""Static catalogs of the demo world: channels, segments, locations, companies, retailers.

Nothing here is random; the random parts (campaigns, noise) live in the other modules and
draw from their own numpy streams (see ``streams``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.random import PCG64, Generator, SeedSequence

N_DAYS = 548  # 18 months of daily history, end_date included
DEVICES = ("desktop", "mobile", "tablet")

# Sub-stream keys: one numpy stream per table or concern, so adding rows to one table never
# shifts the random numbers of another.
STREAM = {
    "campaigns": 1, "design": 2, "ad_rows": 3, "email": 4, "crm": 5, "leads": 6, "web": 7,
    "touchpoints": 8, "market": 9, "content": 10, "email_campaigns": 11,
}


def stream(seed: int, name: str, *sub: int) -> Generator:
    """The numpy generator for one concern: ``Generator(PCG64(SeedSequence([seed, key, ...])))``."""
    return Generator(PCG64(SeedSequence([int(seed), STREAM[name], *map(int, sub)])))


# --------------------------------------------------------------------------- channels


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    kind: str
    ctr: float  # clicks / impressions
    cpc: float  # USD per click
    cvr: float  # conversions / clicks
    devices: tuple[float, float, float]  # desktop, mobile, tablet share of activity


CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("Google Ads", "paid_search", 0.045, 2.6, 0.045, (0.46, 0.47, 0.07)),
    ChannelSpec("Facebook", "social", 0.009, 0.95, 0.020, (0.22, 0.72, 0.06)),
    ChannelSpec("LinkedIn", "social", 0.005, 5.5, 0.055, (0.64, 0.31, 0.05)),
    ChannelSpec("Instagram", "social", 0.008, 1.2, 0.017, (0.08, 0.86, 0.06)),
    ChannelSpec("YouTube", "video", 0.004, 2.0, 0.009, (0.32, 0.55, 0.13)),
    ChannelSpec("Email", "email", 0.025, 0.30, 0.040, (0.45, 0.48, 0.07)),
    ChannelSpec("Website", "web", 0.020, 0.90, 0.025, (0.48, 0.45, 0.07)),
)
CHANNEL_INDEX = {c.name: i for i, c in enumerate(CHANNELS)}

# Device effects on the within-day split of a campaign's activity (relative, mean ~1).
DEVICE_CTR = np.array([0.90, 1.10, 1.00])
DEVICE_CPC = np.array([1.10, 0.92, 1.00])
DEVICE_CVR = np.array([1.30, 0.80, 1.00])

SEGMENTS: tuple[tuple[str, str], ...] = (
    ("Young Professionals", "25-34, urban, career-focused, mobile-first"),
    ("Families", "Households with children; value and convenience driven"),
    ("Tech Enthusiasts", "Early adopters who follow product launches and reviews"),
    ("Retirees", "65+, higher disposable income, prefer desktop and email"),
    ("Students", "18-24, price sensitive, social-heavy"),
    ("Small Business Owners", "Owners and managers of companies under 50 staff"),
    ("Luxury Shoppers", "High-income buyers of premium and luxury goods"),
    ("Enterprise Decision Makers", "Director-level and above at companies of 500+ staff"),
    ("Frequent Travelers", "Four or more trips a year, loyalty-program members"),
)
SEGMENT_INDEX = {s[0]: i for i, s in enumerate(SEGMENTS)}

# name, region, latitude, longitude, metro population (millions; weights national campaigns)
LOCATIONS: tuple[tuple[str, str, float, float, float], ...] = (
    ("New York", "East", 40.7128, -74.0060, 19.5),
    ("Boston", "East", 42.3601, -71.0589, 4.9),
    ("Philadelphia", "East", 39.9526, -75.1652, 6.2),
    ("Washington DC", "East", 38.9072, -77.0369, 6.3),
    ("Chicago", "Central", 41.8781, -87.6298, 9.4),
    ("Dallas", "Central", 32.7767, -96.7970, 7.9),
    ("Houston", "Central", 29.7604, -95.3698, 7.3),
    ("Minneapolis", "Central", 44.9778, -93.2650, 3.7),
    ("Kansas City", "Central", 39.0997, -94.5786, 2.2),
    ("St. Louis", "Central", 38.6270, -90.1994, 2.8),
    ("Atlanta", "South", 33.7490, -84.3880, 6.2),
    ("Miami", "South", 25.7617, -80.1918, 6.1),
    ("Nashville", "South", 36.1627, -86.7816, 2.0),
    ("Charlotte", "South", 35.2271, -80.8431, 2.7),
    ("New Orleans", "South", 29.9511, -90.0715, 1.3),
    ("Los Angeles", "West", 34.0522, -118.2437, 12.9),
    ("San Francisco", "West", 37.7749, -122.4194, 4.6),
    ("Seattle", "West", 47.6062, -122.3321, 4.0),
    ("Denver", "West", 39.7392, -104.9903, 3.0),
    ("Phoenix", "West", 33.4484, -112.0740, 5.0),
    ("San Diego", "West", 32.7157, -117.1611, 3.3),
    ("Portland", "West", 45.5152, -122.6784, 2.5),
)
LOCATION_INDEX = {loc[0]: i for i, loc in enumerate(LOCATIONS)}

# --------------------------------------------------------------------------- companies


@dataclass(frozen=True)
class IndustrySpec:
    cpc: float  # multiplies the channel CPC
    ctr: float
    cvr: float
    aov: float  # revenue per conversion, USD
    deal: tuple[float, float]  # lead value range, USD
    segments: tuple[str, ...]
    goals: tuple[str, ...]  # preferred campaign goals
    themes: tuple[str, ...]  # campaign themes, two per season: winter, spring, summer, fall
    always_on: str  # theme of the long-running campaigns


INDUSTRIES: dict[str, IndustrySpec] = {
    "Retail/E-commerce": IndustrySpec(
        0.8, 1.05, 1.0, 85.0, (80, 600), ("Families", "Young Professionals", "Students"),
        ("sales", "traffic", "awareness"),
        ("Winter Clearance", "New Year Deals", "Spring Refresh", "New Arrivals", "Summer Sale",
         "Back to School", "Holiday Gift Guide", "Black Friday Preview"), "Always-on Shopping"),
    "SaaS/Technology": IndustrySpec(
        1.3, 0.95, 0.9, 520.0, (6000, 40000),
        ("Tech Enthusiasts", "Small Business Owners", "Enterprise Decision Makers"),
        ("leads", "traffic", "awareness"),
        ("Year-end Offer", "New Year Kickoff", "Product Launch", "Free Trial Push",
         "Webinar Series", "Integration Week", "Analyst Report", "Customer Stories"),
        "Always-on Demand Gen"),
    "Finance": IndustrySpec(
        1.5, 0.9, 0.8, 600.0, (2000, 25000),
        ("Young Professionals", "Retirees", "Small Business Owners", "Families"),
        ("leads", "sales", "awareness"),
        ("Tax Season Savings", "New Year Goals", "Home Loan Rates", "High-Yield Savings",
         "Credit Card Launch", "Business Banking", "Retirement Planning", "Financial Wellness"),
        "Always-on Brand"),
    "Travel/Hospitality": IndustrySpec(
        0.9, 1.1, 0.55, 420.0, (1000, 8000),
        ("Families", "Frequent Travelers", "Retirees", "Young Professionals"),
        ("sales", "awareness", "traffic"),
        ("Winter Escapes", "Early Booking", "Spring Break Deals", "Weekend Deals",
         "Summer Getaways", "Last-minute Deals", "Fall Foliage Tours", "Loyalty Member Offers"),
        "Always-on Booking"),
    "Luxury goods": IndustrySpec(
        1.2, 0.9, 0.3, 1200.0, (2000, 15000),
        ("Luxury Shoppers", "Young Professionals", "Retirees"),
        ("sales", "awareness", "traffic"),
        ("Holiday Jewels", "Valentine's Edit", "Mother's Day Gifts", "Bridal Collection",
         "New Collection Launch", "Summer Elegance", "Icons Campaign", "Atelier Stories"),
        "Always-on Brand"),
}


@dataclass(frozen=True)
class CompanySpec:
    slug: str
    name: str
    industry: str
    tracks: tuple[tuple[str, float], ...]  # always-on channels and their share of ad spend
    daily_spend: float  # average daily ad spend, USD
    growth: float  # yearly growth of activity (log scale)
    domain: str
    sessions: float  # website sessions per day
    leads: float  # leads per day


COMPANIES: tuple[CompanySpec, ...] = (
    CompanySpec("northwind-outfitters", "Northwind Outfitters", "Retail/E-commerce",
                (("Google Ads", 0.45), ("Facebook", 0.30), ("Instagram", 0.25)),
                22000, 0.12, "northwind-outfitters.example", 42000, 3.0),
    CompanySpec("cartwheel-home", "Cartwheel Home", "Retail/E-commerce",
                (("Google Ads", 0.55), ("Facebook", 0.35), ("Email", 0.10)),
                12000, 0.08, "cartwheel-home.example", 21000, 2.5),
    CompanySpec("stackline-cloud", "Stackline Cloud", "SaaS/Technology",
                (("Google Ads", 0.45), ("LinkedIn", 0.40), ("YouTube", 0.15)),
                9000, 0.25, "stackline.example", 15000, 12.0),
    CompanySpec("pipewise-analytics", "Pipewise Analytics", "SaaS/Technology",
                (("Google Ads", 0.60), ("LinkedIn", 0.40)),
                5000, 0.15, "pipewise.example", 8000, 7.0),
    CompanySpec("harbor-trust-bank", "Harbor Trust Bank", "Finance",
                (("Google Ads", 0.50), ("Facebook", 0.20), ("LinkedIn", 0.30)),
                15000, 0.05, "harbortrust.example", 30000, 9.0),
    CompanySpec("summit-wealth", "Summit Wealth Partners", "Finance",
                (("Google Ads", 0.70), ("YouTube", 0.30)),
                7000, 0.03, "summitwealth.example", 9000, 5.0),
    CompanySpec("bluewave-resorts", "Bluewave Resorts", "Travel/Hospitality",
                (("Google Ads", 0.50), ("Instagram", 0.25), ("Facebook", 0.25)),
                14000, 0.10, "bluewave-resorts.example", 26000, 4.0),
    CompanySpec("skyline-getaways", "Skyline Getaways", "Travel/Hospitality",
                (("Google Ads", 0.55), ("YouTube", 0.20), ("Website", 0.25)),
                8000, 0.06, "skyline-getaways.example", 17000, 3.5),
    CompanySpec("bellini-gioielli", "Bellini Gioielli", "Luxury goods",
                (("Instagram", 0.45), ("Google Ads", 0.35), ("Facebook", 0.20)),
                10000, 0.09, "bellini-gioielli.example", 12000, 2.0),
)
COMPANY_INDEX = {c.slug: i for i, c in enumerate(COMPANIES)}
JEWELLERY = "bellini-gioielli"


@dataclass(frozen=True)
class Track:
    """An always-on (company, channel) line of activity; campaigns of that channel share it."""

    company: int
    channel: int
    share: float


TRACKS: tuple[Track, ...] = tuple(
    Track(ci, CHANNEL_INDEX[ch], share)
    for ci, comp in enumerate(COMPANIES) for ch, share in comp.tracks
)

# The jewellery brand's retail partners (shared/reference/004: 15 retailers in 3 regions).
RETAILERS: tuple[tuple[str, str, str], ...] = (
    ("Betteridge NY", "East", "New York"),
    ("Tourneau Times Square", "East", "New York"),
    ("Manfredi Jewels", "East", "New York"),
    ("David Yurman Boston", "East", "Boston"),
    ("Tiffany & Co Fifth Ave", "East", "New York"),
    ("Bachendorf's Dallas", "Central", "Dallas"),
    ("Mayors Jewelry", "Central", "Houston"),
    ("Fields Jewelers", "Central", "Minneapolis"),
    ("Jewelry Design Center", "Central", "Kansas City"),
    ("Luxury Time Chicago", "Central", "Chicago"),
    ("Cartier Rodeo Drive", "West", "Los Angeles"),
    ("Westime LA", "West", "Los Angeles"),
    ("Cellini Beverly Hills", "West", "Los Angeles"),
    ("Shreve & Co", "West", "San Francisco"),
    ("Ben Bridge Jeweler", "West", "Seattle"),
)


def retailer_domain(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum()) + ".example"


@dataclass(frozen=True)
class Calendar:
    """The history: ``N_DAYS`` days ending at ``end_date``; the last one may be partial."""

    end_date: dt.date
    cutoff_seconds: int = 86400  # seconds of the last day that have happened

    @property
    def start_date(self) -> dt.date:
        return self.end_date - dt.timedelta(days=N_DAYS - 1)

    @property
    def n_days(self) -> int:
        return N_DAYS

    @property
    def day0(self) -> int:
        """The first day as days since 1970-01-01."""
        return (self.start_date - dt.date(1970, 1, 1)).days

    @property
    def dates(self) -> np.ndarray:
        return np.datetime64(self.start_date, "D") + np.arange(N_DAYS)

    @property
    def dow(self) -> np.ndarray:
        """Day of week, Monday = 0."""
        return (np.arange(N_DAYS) + self.start_date.weekday()) % 7

    @property
    def cutoff_epoch(self) -> int:
        """Seconds since the epoch before which everything in the history happened."""
        return (self.day0 + N_DAYS - 1) * 86400 + self.cutoff_seconds

    def day(self, index: int) -> dt.date:
        return self.start_date + dt.timedelta(days=int(index))

    def index(self, day: dt.date) -> int:
        return (day - self.start_date).days
