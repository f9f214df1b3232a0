"""The words inside the demo's lead magnets, so the hosted reader shows real pages."""

from __future__ import annotations

CHECKLIST = [
    (
        f"Sign {number}: {title}",
        f"{body}\n\nWhat to do this week: write down the last three times this happened, who noticed, and "
        "what it cost in hours or in money. A number on paper starts the conversation that fixes it.",
    )
    for number, (title, body) in enumerate(
        [
            ("Orders wait for one person", "When one person approves every order, the queue grows while "
             "they are out, and customers learn to call them directly. Spread approval by value."),
            ("Spreadsheets are the system", "A spreadsheet that three teams edit is a database without "
             "rules. Version conflicts and stale copies cost more than the software you avoid."),
            ("Nobody owns the handoff", "Work stalls between teams, not inside them. Name an owner for "
             "every handoff and measure how long work waits there."),
            ("The same question every week", "If the weekly meeting asks the same status question, the "
             "answer belongs on a board that updates itself."),
            ("Rework is normal", "When fixing a job twice feels routine, nobody counts it. Count it for a "
             "month: it is usually five to fifteen percent of capacity."),
            ("Lead time is a guess", "Ask three people how long an order takes and you will hear three "
             "answers. Measure it from order to delivery for twenty orders."),
        ],
        start=1,
    )
]  # fmt: skip

PLAYBOOK = [
    (
        f"Week {week}: {title}",
        f"{body}\n\nThe measure for this step: {measure}. Write it on the wall where the team meets, and "
        "review it for ten minutes every Monday. Progress that is seen is progress that lasts.",
    )
    for week, (title, body, measure) in enumerate(
        [
            ("Map the work as it is", "Walk one order from the first call to the invoice. Write every "
             "step, every wait and every person. Do not draw the process as it should be.",
             "the number of steps and the hours of waiting"),
            ("Find the bottleneck", "The step with the longest queue sets the pace of the whole firm. "
             "Improving any other step first only moves the pile.", "queue length at the bottleneck"),
            ("Standardise the bottleneck", "Write the bottleneck's work as a one-page standard that a new "
             "person can follow, with pictures where words fail.", "first-time-right rate"),
            ("Protect the bottleneck", "Keep the bottleneck busy with ready work only: check inputs "
             "before they reach it, and never let it wait for a signature.", "idle hours per week"),
            ("Balance the flow", "Release work at the pace of the bottleneck, not at the pace of sales. "
             "Starting more than you finish hides problems.", "work in progress"),
            ("Automate the repetitive", "Move the copy-and-paste steps into software once they are "
             "standard. Automating a messy step makes the mess faster.", "manual touches per order"),
            ("Review and repeat", "After ninety days the bottleneck has moved. Map again, find the new "
             "constraint, and start the cycle with what you learned.", "lead time, start to finish"),
        ],
        start=1,
    )
]  # fmt: skip

ROI_PAPER = [
    ("Why ROI decides consulting", "Buyers of operations work compare it with hiring, with software and "
     "with doing nothing. A clear return, measured in their own numbers, is what moves the decision."),
    ("The three numbers", "Hours saved per week, errors avoided per month, and revenue unlocked by "
     "shorter lead times. Each is measured before and after, with the same method."),
    ("Hours saved", "Multiply the hours by a loaded hourly cost, not by salary alone: benefits, space "
     "and management time add forty to sixty percent."),
    ("Errors avoided", "Count rework, credit notes and expedited shipping. Errors are cheap to count "
     "and expensive to ignore."),
    ("Revenue unlocked", "Shorter lead times win orders that the firm used to lose on delivery dates. "
     "Ask sales which deals were lost to timing last year."),
    ("Payback period", "Divide the project's cost by the monthly return. Most operations projects "
     "that are worth doing pay back within three to six months."),
    ("A worked example", "A 120-person manufacturer saved 310 hours a month and cut lead time by 30 "
     "percent. The project cost 24,000 and paid back in eleven weeks."),
]  # fmt: skip

DOCUMENTS = {"ops-checklist": CHECKLIST, "ops-playbook": PLAYBOOK, "roi-white-paper": ROI_PAPER}
