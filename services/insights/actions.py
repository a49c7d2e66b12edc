"""Action items derived from the insights and the channel figures: what to do, in one line
each, with the numbers that justify it (taken from the same evidence as the insights)."""

from __future__ import annotations

MIN_ROAS_GAP = 1.3  # best channel ROAS at least 1.3x the worst one before suggesting a shift
MAX_ACTIONS = 5


def _roas(value: float) -> str:
    return f"{value:,.1f}"


def action_items(insights: list[dict], channels: list[dict], cards: list[dict]) -> list[dict]:
    """Up to ``MAX_ACTIONS`` actions, most urgent first. Each: text, reason (the insight id or
    figure behind it) and evidence."""
    actions: list[dict] = []
    priced = [c for c in channels if c["roas"] is not None and c["spend"] > 0]
    if len(priced) >= 2:
        best = max(priced, key=lambda c: c["roas"])
        worst = min(priced, key=lambda c: c["roas"])
        if worst["roas"] > 0 and best["roas"] / worst["roas"] >= MIN_ROAS_GAP:
            actions.append({
                "text": f"Shift budget from {worst['channel']} (ROAS {_roas(worst['roas'])}) "
                        f"to {best['channel']} (ROAS {_roas(best['roas'])}).",
                "reason": "channel ROAS",
                "evidence": {"from": worst["channel"], "from_roas": worst["roas"],
                             "to": best["channel"], "to_roas": best["roas"]},
            })
    for insight in insights:
        evidence = insight["evidence"]
        bad = insight["severity"] in ("high", "critical")
        where = f"{evidence['channel']} " if evidence.get("channel") else ""
        if insight["kind"] == "anomaly" and bad:
            actions.append({
                "text": f"Investigate the {where}{evidence['label']} "
                        f"{'spike' if evidence['direction'] == 'up' else 'drop'} of "
                        f"{evidence['date']}: check tracking, budgets and placements.",
                "reason": insight["id"], "evidence": evidence})
        elif insight["kind"] == "trend_change" and bad:
            actions.append({
                "text": f"Review what changed around {evidence['date']}: "
                        f"{evidence['label']} has been moving "
                        f"{evidence['slope_after_pct']:+.1f}% a week since.",
                "reason": insight["id"], "evidence": evidence})
        elif insight["kind"] == "benchmark" and bad:
            actions.append({
                "text": f"Close the {evidence['label']} gap to peers "
                        f"({evidence['change_pct']:+.0f}% against their average): test new "
                        f"creatives, audiences and bids.",
                "reason": insight["id"], "evidence": evidence})
        elif insight["kind"] == "segment":
            actions.append({
                "text": f"Give more budget to campaigns targeting '{evidence['segment']}' "
                        f"({evidence['multiple']:,.2f}x the average conversion rate).",
                "reason": insight["id"], "evidence": evidence})
    for card in cards:
        if card["status"] == "red":
            actions.append({
                "text": f"{card['label']} is off target: bring it back towards the target "
                        f"this period.",
                "reason": "target", "evidence": {"metric": card["metric"],
                                                  "value": card["value"],
                                                  "target": card["target"]}})
    return actions[:MAX_ACTIONS]
