"""The metric catalogue (DESIGN.md, metric definitions): for each metric its key, label, unit,
numerator and denominator, the direction that is good and a one-sentence definition. Cards,
tables, charts, insight sentences, alert rules and the API take their ratios and period
changes from here, and the views show the definition on hover.

Percentages are carried as percent (CTR 2.5 means 2.5 %). A ratio with a zero denominator is
undefined: None in a result (shown as a dash), NaN in a series. The change of a rate (unit %)
is in percentage points, of anything else in % of the previous value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # USD, count, %, x
    good: int  # +1 higher is better, -1 lower is better, 0 neither
    definition: str
    numerator: str | None = None  # ratio metrics: numerator / denominator x scale
    denominator: str | None = None
    scale: float = 1.0

    @property
    def change_unit(self) -> str:
        """How a change of this metric is stated: "pp" for rates, "%" for the rest."""
        return "pp" if self.unit == "%" else "%"


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("revenue", "Revenue", "USD", 1,
           "Ad revenue plus CRM conversions plus completed e-commerce orders, each summed on "
           "its own."),
    Metric("spend", "Spend", "USD", 0, "Money spent on ads."),
    Metric("impressions", "Impressions", "count", 1, "Times an ad was shown."),
    Metric("clicks", "Clicks", "count", 1, "Clicks on ads."),
    Metric("conversions", "Conversions", "count", 1,
           "Ad conversions plus CRM conversions plus completed e-commerce orders."),
    Metric("ctr", "CTR", "%", 1, "Clicks / impressions: the share of ad views that were "
           "clicked.", "clicks", "impressions", 100.0),
    Metric("conversion_rate", "Conversion rate", "%", 1,
           "Ad conversions / clicks: the share of ad clicks that converted.",
           "ad_conversions", "clicks", 100.0),
    Metric("cpc", "CPC", "USD", -1, "Spend / clicks: what one ad click cost.",
           "spend", "clicks"),
    Metric("cpm", "CPM", "USD", -1, "Spend / impressions x 1,000: what a thousand ad views "
           "cost.", "spend", "impressions", 1000.0),
    Metric("cpa", "CPA", "USD", -1, "Spend / conversions: what one conversion cost.",
           "spend", "conversions"),
    # Benchmarks compare ad activity with ad activity (other companies' CRM is not
    # comparable): their CPA and ROAS are the ads' own, named so beside the cards'.
    Metric("ad_cpa", "Ad CPA", "USD", -1, "Spend / ad conversions: what one conversion "
           "reported by the ad platforms cost.", "spend", "ad_conversions"),
    Metric("ad_roas", "Ad ROAS", "x", 1, "Ad revenue / spend: revenue reported by the ad "
           "platforms per dollar of spend.", "ad_revenue", "spend"),
    Metric("cpl", "CPL", "USD", -1, "Spend / leads: what one lead cost.", "spend", "leads"),
    Metric("roas", "ROAS", "x", 1, "Revenue / spend: revenue per dollar of ad spend.",
           "revenue", "spend"),
    Metric("roi_pct", "ROI", "%", 1, "(Revenue - spend) / spend x 100; High ROI from 100 %, "
           "Good ROI from 50 %.", "profit", "spend", 100.0),
    Metric("campaigns", "Active campaigns", "count", 0, "Campaigns with spend in the period."),
    Metric("mrr", "MRR", "USD", 1, "Monthly recurring revenue at the end of the month."),
    Metric("customers", "Customers", "count", 1, "Paying customers at the end of the month."),
    Metric("cac", "Customer acquisition cost", "USD", -1,
           "Ad spend of the month / new customers of the month.", "spend", "new_customers"),
    Metric("ltv", "Lifetime value", "USD", 1,
           "Average revenue per customer / monthly churn rate."),
    Metric("ltv_cac", "LTV:CAC", "x", 1, "Lifetime value / customer acquisition cost; 3x is "
           "the usual target.", "ltv", "cac"),
    Metric("market_share", "Market share", "%", 1, "A brand's share of its market in the "
           "month: the company's as it reports it; a competitor's estimated, as a range."),
    Metric("nps", "NPS", "count", 1, "Net promoter score of the month (-100 to 100)."),
    Metric("churn_rate", "Churn rate", "%", -1,
           "Customers lost in the month / customers at its start."),
    # Marketing view (issue #13): web traffic, leads, content and the retailer email funnel.
    Metric("sessions", "Visitors (sessions)", "count", 1, "Website sessions."),
    Metric("new_sessions", "New visitors", "count", 1, "Sessions of first-time visitors."),
    Metric("returning_sessions", "Returning visitors", "count", 1,
           "Sessions of visitors who came before."),
    Metric("bounce_rate", "Bounce rate", "%", -1, "Bounces / sessions: the share of sessions "
           "that left after one page.", "bounces", "sessions", 100.0),
    Metric("avg_session_duration", "Avg. session duration", "s", 1,
           "Time on site / sessions.", "duration_seconds", "sessions"),
    Metric("pages_per_session", "Pages per session", "pages", 1, "Pageviews / sessions.",
           "pageviews", "sessions"),
    Metric("visitor_to_lead", "Visitor-to-lead rate", "%", 1, "Leads created / sessions: the "
           "share of visits that became a lead.", "leads", "sessions", 100.0),
    Metric("leads", "Leads", "count", 1, "Leads created in the period."),
    Metric("opportunities", "Opportunities", "count", 1,
           "Leads created in the period that reached a sales opportunity."),
    Metric("customers_won", "Customers", "count", 1,
           "Leads created in the period that were won."),
    Metric("lead_to_opportunity", "Lead-to-opportunity rate", "%", 1,
           "Opportunities / leads.", "opportunities", "leads", 100.0),
    Metric("opportunity_to_customer", "Win rate", "%", 1, "Customers won / opportunities.",
           "customers_won", "opportunities", 100.0),
    Metric("views", "Views", "count", 1, "Times a piece of content was viewed."),
    Metric("engagements", "Engagements", "count", 1,
           "Likes, shares, comments and downloads of content."),
    Metric("engagement_rate", "Engagement rate", "%", 1, "Engagements / views.",
           "engagements", "views", 100.0),
    Metric("sent", "Sent", "count", 0, "Emails sent."),
    Metric("delivered", "Delivered", "count", 1, "Emails that reached the inbox."),
    Metric("opened", "Opened", "count", 1, "Delivered emails that were opened."),
    Metric("clicked", "Clicked", "count", 1, "Delivered emails with a click."),
    Metric("delivery_rate", "Delivery rate", "%", 1, "Delivered / sent.", "delivered", "sent",
           100.0),
    Metric("open_rate", "Open rate", "%", 1, "Opened / delivered.", "opened", "delivered",
           100.0),
    Metric("click_rate", "Click rate", "%", 1, "Clicked / delivered.", "clicked", "delivered",
           100.0),
    Metric("click_to_open", "Click-to-open rate", "%", 1, "Clicked / opened: the share of "
           "readers who clicked.", "clicked", "opened", 100.0),
    Metric("email_conversions", "Conversions", "count", 1,
           "CRM conversions plus completed e-commerce orders."),
    Metric("email_revenue", "Revenue", "USD", 1, "CRM conversions plus completed e-commerce "
           "orders, each summed on its own."),
    Metric("cost", "Cost", "USD", 0, "The campaign's recorded ad spend; its allocated budget "
           "when it records none (email campaigns send without ad spend)."),
    Metric("campaign_roi", "ROI", "%", 1, "(Revenue - cost) / cost x 100; High ROI from "
           "100 %, Good ROI from 50 %.", "profit", "cost", 100.0),
    # Competitive view (issue #16): competitors' figures are estimates, shown as ranges with
    # their method and source; the company's own come from its data.
    Metric("share_of_voice", "Share of voice", "%", 1,
           "A brand's voice (mentions or branded searches) / the voice of all the named brands "
           "in one channel and month; a range when the volumes are estimates."),
    Metric("est_ad_spend", "Ad spend (estimated)", "USD", 0,
           "A month's ad spend: the company's own from its ad platforms; a competitor's "
           "estimated (e.g. impressions x benchmark CPM) as a range."),
    Metric("avg_cpc", "Average CPC", "USD", -1,
           "What a click costs: the company's spend / clicks; a competitor's from a keyword "
           "tool's bid range."),
    Metric("social_followers", "Social followers", "count", 1,
           "Followers of the brand's public social profiles at the month's end."),
    Metric("followers_growth", "Followers growth", "%", 1,
           "Followers at the month's end / three months earlier - 1."),
    Metric("excess_share_of_voice", "Excess share of voice", "%", 0,
           "Share of voice - market share, in points: above 0 the brand spends ahead of its "
           "results."),
)}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None (shown as a dash) when either is missing or the
    denominator is zero."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def change_pct(current: float | None, previous: float | None) -> float | None:
    """Relative change in % of the previous value; None without a previous value."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous) * 100.0


def change(metric: str, current: float | None, previous: float | None) -> float | None:
    """The period change as the catalogue states it: percentage points for rates (unit %),
    % of the previous value for everything else."""
    if METRICS[metric].change_unit == "pp":
        return None if current is None or previous is None else current - previous
    return change_pct(current, previous)


def metric_value(totals: dict, metric: str) -> float | None:
    """One metric from summed base quantities; None for a zero denominator."""
    spec = METRICS[metric]
    if spec.numerator is None:
        return float(totals[metric])
    value = ratio(float(totals[spec.numerator]), float(totals[spec.denominator]))
    return None if value is None else value * spec.scale


def metric_values(frame: pd.DataFrame, metric: str) -> pd.Series:
    """One metric from a frame of summed base columns (rows: days, months or groups)."""
    spec = METRICS[metric]
    if spec.numerator is None:
        return frame[metric].astype(float)
    return pd.Series(metric_array({name: frame[name].to_numpy(dtype=float, na_value=np.nan)
                                   for name in (spec.numerator, spec.denominator)}, metric),
                     index=frame.index)


def metric_array(columns: dict[str, np.ndarray], metric: str) -> np.ndarray:
    """One ratio metric from summed base columns as float arrays: the same IEEE operations
    as on Series, without pandas' cost per operation (a group table's seven ratios took
    ~5 ms as Series arithmetic). NaN where the denominator is zero."""
    spec = METRICS[metric]
    numerator, denominator = columns[spec.numerator], columns[spec.denominator]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, numerator / denominator, np.nan) * spec.scale
