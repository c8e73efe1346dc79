"""How the standoff model's results are shown: main outcomes, cost and gain splits, series
labels, category titles and colours (see :class:`sim.model.interface.Presentation`)."""

from __future__ import annotations

from sim.model.interface import Breakdown, Presentation, SeriesSpec

BLUE = "#2f6db5"
ORANGE = "#e07b39"
GREEN = "#3a9a5b"
RED = "#c8453c"
PURPLE = "#7d5ba6"
GREY = "#8a939d"
TEAL = "#2a9d9a"

PRESENTATION = Presentation(
    title="Lithuania-Belarus truck standoff",
    time_label="day of the scenario",
    main_outcomes=(
        "carrier_cost_eur",
        "release_day",
        "closure_to_release_days",
        "trucks_held",
        "trucks_retrieved",
        "trucks_abandoned",
        "detention_days_mean",
        "fees_paid_eur",
        "carrier_net_cost_eur",
        "belarus_standoff_gain_eur",
        "prisoners_released",
    ),
    precision_outcomes=(
        "carrier_cost_eur",
        "release_day",
        "trucks_held",
        "trucks_retrieved",
        "detention_days_mean",
        "fees_paid_eur",
        "belarus_gain_eur",
    ),
    breakdowns=(
        Breakdown(
            "Carriers' cost",
            "carrier_cost_eur",
            (
                ("fees_paid_eur", "Fees paid"),
                ("idle_cost_eur", "Idle cost"),
                ("replacement_cost_eur", "Substitutes"),
                ("assets_lost_eur", "Trucks lost"),
                ("retrieval_cost_eur", "Retrieval"),
            ),
        ),
        Breakdown(
            "Belarus's gain",
            "belarus_gain_eur",
            (
                ("fees_paid_eur", "Fees received"),
                ("assets_lost_eur", "Trucks seized or abandoned"),
                ("sanctions_relief_eur", "Sanctions relief"),
            ),
        ),
    ),
    series=(
        SeriesSpec("held", "Vehicles held on the lots", "vehicles"),
        SeriesSpec("queueing", "Vehicles queueing at the checkpoints", "vehicles"),
        SeriesSpec(
            "carrier_cost_eur",
            "Carriers' cumulative cost (fees owed counted as they accrue)",
            "EUR",
        ),
        SeriesSpec("retrieved", "Vehicles retrieved individually (cumulative)", "vehicles"),
    ),
    category_titles={
        "release_channel": "Which channel produced the general release",
        "resolution": "How the standoff ended by the horizon",
    },
    section_titles={"categories": "Release channels", "breakdowns": "Who pays, who gains"},
    colours={
        "government": BLUE,
        "carriers": GREEN,
        "us": ORANGE,
        "none": GREY,
        "no_hold": TEAL,
        "released_government": BLUE,
        "released_carriers": GREEN,
        "released_us": ORANGE,
        "confiscated": RED,
        "emptied": PURPLE,
        "unresolved": GREY,
        "fees_paid_eur": BLUE,
        "idle_cost_eur": ORANGE,
        "assets_lost_eur": RED,
        "retrieval_cost_eur": GREEN,
        "replacement_cost_eur": TEAL,
        "sanctions_relief_eur": PURPLE,
    },
)
