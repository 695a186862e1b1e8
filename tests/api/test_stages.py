"""Stages over GraphQL: system stages, create/update/delete rules, positions, deletion moves."""

from __future__ import annotations

from tests.api.helpers import SYSTEM_STAGE_NAMES, Api, codes, problems


async def test_a_new_workspace_has_the_four_system_stages_in_order(api: Api) -> None:
    stages = await api.stages()
    assert [(s["name"], s["kind"], s["position"]) for s in stages] == [
        ("Open", "OPEN", 0),
        ("Closed", "CLOSED", 1),
        ("Snoozed", "SNOOZED", 2),
        ("Auto closed", "AUTO_CLOSED", 3),
    ]
    assert all(s["autoClose"] and not s["deleted"] and s["ticketCount"] == 0 for s in stages)
    assert await api.stages(include_deleted=True) == stages


async def test_create_stage_trims_the_name_and_appends_after_the_system_stages(api: Api) -> None:
    first = await api.create_stage("  Assigned  ")
    second = await api.create_stage("Waiting on supplier", auto_close=False)
    assert (first["name"], first["kind"], first["position"], first["autoClose"]) == (
        "Assigned",
        "INTERMEDIATE",
        4,
        True,
    )
    assert (second["position"], second["autoClose"], second["deleted"]) == (5, False, False)
    names = [s["name"] for s in await api.stages()]
    assert names == [*SYSTEM_STAGE_NAMES, "Assigned", "Waiting on supplier"]
    counts = await api.counts()
    assert [(c["stage"]["name"], c["count"]) for c in counts["counts"]] == [(n, 0) for n in names]


BAD_NAMES = [
    ("", "VALIDATION"),
    ("   ", "VALIDATION"),
    ("x" * 51, "VALIDATION"),
    ("tab\there", "VALIDATION"),
    ("open", "DUPLICATE_NAME"),
    (" CLOSED ", "DUPLICATE_NAME"),
    ("Auto Closed", "DUPLICATE_NAME"),
    ("snoozed", "DUPLICATE_NAME"),
    ("assigned", "DUPLICATE_NAME"),
]


async def test_bad_stage_names_are_refused_and_change_nothing(api: Api) -> None:
    await api.create_stage("Assigned")
    before = await api.snapshot()
    for name, code in BAD_NAMES:
        payload = await api.create_stage_payload(name)
        assert payload["stage"] is None, name
        assert problems(payload) == [(code, ["name"])], name
        assert payload["userErrors"][0]["message"]
    assert await api.snapshot() == before


async def test_a_fifty_character_name_is_accepted(api: Api) -> None:
    stage = await api.create_stage(" " + "n" * 50 + " ")
    assert stage["name"] == "n" * 50


async def test_at_most_fifty_live_intermediate_stages(api: Api) -> None:
    created = [await api.create_stage(f"Stage {n}") for n in range(50)]
    assert [s["position"] for s in created] == list(range(4, 54))
    before = await api.snapshot()
    payload = await api.create_stage_payload("One too many")
    assert codes(payload) == ["LIMIT_EXCEEDED"] and payload["stage"] is None
    assert await api.snapshot() == before
    assert (await api.delete_stage(created[0]["id"]))["userErrors"] == []
    assert (await api.create_stage("One too many"))["position"] == 53


async def test_create_at_a_position_inserts_and_keeps_positions_contiguous(api: Api) -> None:
    for name in ("A", "B", "C"):
        await api.create_stage(name)
    inserted = await api.create_stage("D", position=5)
    assert inserted["position"] == 5
    stages = await api.stages()
    assert [(s["name"], s["position"]) for s in stages] == [
        *((n, p) for p, n in enumerate(SYSTEM_STAGE_NAMES)),
        ("A", 4),
        ("D", 5),
        ("B", 6),
        ("C", 7),
    ]
    far = await api.create_stage("E", position=999)
    assert far["position"] == 8
    front = await api.create_stage("F", position=4)
    assert front["position"] == 4
    assert [s["name"] for s in await api.stages()][4:] == ["F", "A", "D", "B", "C", "E"]


async def test_a_position_among_the_system_stages_is_refused(api: Api) -> None:
    stage = await api.create_stage("A")
    before = await api.snapshot()
    for position in (0, 3, -1):
        payload = await api.create_stage_payload("B", position=position)
        assert problems(payload) == [("VALIDATION", ["position"])]
        moved = await api.update_stage(stage["id"], position=position)
        assert problems(moved) == [("VALIDATION", ["position"])]
    assert await api.snapshot() == before


async def test_reorder_moves_one_stage_and_renumbers_the_rest(api: Api) -> None:
    ids = {n: (await api.create_stage(n))["id"] for n in ("A", "B", "C", "D")}
    payload = await api.update_stage(ids["D"], position=4)
    assert payload["userErrors"] == [] and payload["stage"]["position"] == 4
    assert [(s["name"], s["position"]) for s in await api.stages()][4:] == [
        ("D", 4),
        ("A", 5),
        ("B", 6),
        ("C", 7),
    ]
    payload = await api.update_stage(ids["D"], position=100)
    assert payload["stage"]["position"] == 7
    assert [s["name"] for s in await api.stages()][4:] == ["A", "B", "C", "D"]


async def test_rename_trims_and_checks_uniqueness_ignoring_case(api: Api) -> None:
    a = await api.create_stage("Assigned")
    await api.create_stage("Pending")
    renamed = await api.update_stage(a["id"], name="  In progress ")
    assert renamed["userErrors"] == [] and renamed["stage"]["name"] == "In progress"
    same_but_case = await api.update_stage(a["id"], name="IN PROGRESS")
    assert same_but_case["userErrors"] == [] and same_but_case["stage"]["name"] == "IN PROGRESS"
    before = await api.snapshot()
    for clash in ("pending", "OPEN", "auto closed"):
        payload = await api.update_stage(a["id"], name=clash)
        assert problems(payload) == [("DUPLICATE_NAME", ["name"])]
    for bad in ("", "  ", "y" * 51):
        payload = await api.update_stage(a["id"], name=bad)
        assert problems(payload) == [("VALIDATION", ["name"])]
    assert await api.snapshot() == before


async def test_update_stage_auto_close_flag(api: Api) -> None:
    stage = await api.create_stage("Waiting")
    payload = await api.update_stage(stage["id"], autoClose=False)
    assert payload["userErrors"] == [] and payload["stage"]["autoClose"] is False
    assert (await api.stages())[4]["autoClose"] is False


async def test_system_stages_cannot_be_renamed_moved_paused_or_deleted(api: Api) -> None:
    await api.create_stage("A")
    await api.create_stage("B")
    await api.create_ticket()
    before = await api.snapshot()
    changes: list[dict[str, object]] = [
        {"name": "Renamed"},
        {"name": "open"},
        {"position": 5},
        {"autoClose": False},
    ]
    for stage in (await api.stages())[:4]:
        for change in changes:
            payload = await api.update_stage(stage["id"], **change)
            assert problems(payload) == [("SYSTEM_STAGE", ["id"])]
            assert payload["stage"] is None
        deleted = await api.delete_stage(stage["id"])
        assert problems(deleted) == [("SYSTEM_STAGE", ["id"])]
        assert deleted["deletedStageId"] is None
    assert await api.snapshot() == before


async def test_a_no_change_update_of_a_system_stage_is_harmless(api: Api) -> None:
    open_stage = (await api.stages())[0]
    payload = await api.update_stage(open_stage["id"], name="Open", autoClose=True)
    assert payload["userErrors"] == [] and payload["stage"]["name"] == "Open"


async def test_unknown_stage_ids_are_not_found(api: Api) -> None:
    await api.create_stage("A")
    before = await api.snapshot()
    for stage_id in ("nope", "00000000-0000-0000-0000-000000000000", "", "x" * 500):
        updated = await api.update_stage(stage_id, name="X")
        assert problems(updated) == [("NOT_FOUND", ["id"])]
        deleted = await api.delete_stage(stage_id)
        assert problems(deleted) == [("NOT_FOUND", ["id"])]
        assert deleted["movedTicketCount"] == 0
    assert await api.snapshot() == before


async def test_delete_moves_every_ticket_to_open_in_one_change(api: Api) -> None:
    doomed = await api.create_stage("Doomed")
    keep = await api.create_stage("Keep")
    moved = []
    for n, channel in enumerate(("EMAIL", "SMS", "EMAIL")):
        ticket = await api.create_ticket(customerId=f"c{n}", channel=channel)
        assert (await api.change_stage(ticket["id"], doomed["id"]))["userErrors"] == []
        moved.append(ticket["id"])
    bystander = await api.create_ticket(customerId="b", stageId=keep["id"])
    version = await api.version()

    payload = await api.delete_stage(doomed["id"])

    assert payload == {"deletedStageId": doomed["id"], "movedTicketCount": 3, "userErrors": []}
    assert await api.version() == version + 1
    for ticket_id in moved:
        ticket = await api.ticket(ticket_id)
        assert ticket["stage"]["kind"] == "OPEN" and ticket["version"] == 3
        last = ticket["history"][-1]
        assert (last["source"], last["fromStage"]["name"], last["toStage"]["name"]) == (
            "STAGE_DELETED",
            "Doomed",
            "Open",
        )
        assert last["actor"] == "admin key"
    assert (await api.ticket(bystander["id"]))["stage"]["name"] == "Keep"

    live = await api.stages()
    assert [s["name"] for s in live] == [*SYSTEM_STAGE_NAMES, "Keep"]
    assert live[4]["position"] == 4
    everything = await api.stages(include_deleted=True)
    gone = next(s for s in everything if s["id"] == doomed["id"])
    assert gone["deleted"] is True and gone["ticketCount"] == 0 and gone["name"] == "Doomed"
    counts = await api.counts()
    assert doomed["id"] not in [c["stage"]["id"] for c in counts["counts"]]
    assert {c["stage"]["name"]: c["count"] for c in counts["counts"]} == {
        "Open": 3,
        "Closed": 0,
        "Snoozed": 0,
        "Auto closed": 0,
        "Keep": 1,
    }
    assert counts["total"] == 4
    assert (await api.count_tickets(stageIds=[doomed["id"]])) == 0
    again = await api.delete_stage(doomed["id"])
    assert codes(again) == ["NOT_FOUND"]
    assert codes(await api.update_stage(doomed["id"], name="Back")) == ["NOT_FOUND"]
    assert codes(await api.change_stage(moved[0], doomed["id"])) == ["NOT_FOUND"]


async def test_a_deleted_stage_name_can_be_used_again(api: Api) -> None:
    first = await api.create_stage("Pending")
    assert (await api.delete_stage(first["id"]))["movedTicketCount"] == 0
    second = await api.create_stage("pending")
    assert second["id"] != first["id"] and second["name"] == "pending"
    names = [s["name"] for s in await api.stages(include_deleted=True)]
    assert sorted(names[4:]) == ["Pending", "pending"]


async def test_deleting_an_empty_stage_still_renumbers(api: Api) -> None:
    ids = [(await api.create_stage(n))["id"] for n in ("A", "B", "C")]
    await api.delete_stage(ids[0])
    assert [(s["name"], s["position"]) for s in await api.stages()][4:] == [("B", 4), ("C", 5)]


async def test_ticket_count_follows_the_tickets(api: Api) -> None:
    stage = await api.create_stage("Assigned")
    for n in range(3):
        await api.create_ticket(customerId=f"c{n}", stageId=stage["id"])
    await api.create_ticket(customerId="open")
    counts = {s["name"]: s["ticketCount"] for s in await api.stages()}
    assert counts == {"Open": 1, "Closed": 0, "Snoozed": 0, "Auto closed": 0, "Assigned": 3}


async def test_stage_changes_that_show_in_the_counts_bump_their_version(api: Api) -> None:
    version = await api.version()
    stage = await api.create_stage("Assigned")
    assert await api.version() == version + 1
    await api.update_stage(stage["id"], name="Assigned to me")
    assert await api.version() == version + 2
    await api.create_stage("Pending")
    await api.update_stage(stage["id"], position=5)
    assert await api.version() == version + 4
    await api.update_stage(stage["id"], autoClose=False)  # the counts show autoClose
    assert await api.version() == version + 5
    await api.update_stage(stage["id"], name="Assigned to me")  # no change
    assert await api.version() == version + 5
