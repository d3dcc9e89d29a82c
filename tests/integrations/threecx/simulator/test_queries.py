"""OData query options on the simulator: paging, $filter, $select, $orderby, $search, errors."""

import pytest

from integrations.threecx.spec import secret_fields

USER_SECRETS = secret_fields("Pbx.User")


def users(xapi, **params):
    response = xapi.get("/Users", params=params)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def everyone(xapi):
    return users(
        xapi, **{"$select": "Id,Number,FirstName,LastName,EmailAddress,Enabled,QueueStatus"}
    )


def ids(items):
    return [item["Id"] for item in items]


def odata_error(response, status=400):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert {"code", "message", "details"} <= set(error)
    return error


class TestEnvelope:
    def test_a_collection_has_a_context_and_a_value(self, xapi, simulator):
        body = xapi.get("/Users", params={"$top": 1}).json()
        assert body["@odata.context"] == f"{simulator.base_url}/xapi/v1/$metadata#Users"
        assert len(body["value"]) == 1
        assert "@odata.count" not in body
        assert "@odata.nextLink" not in body

    def test_every_xapi_answer_carries_the_version_header(self, xapi, simulator):
        for path in ("/Users", "/Defs", "/NoSuchSet"):
            assert xapi.get(path).headers["X-3CX-Version"] == simulator.simulator.config.version

    def test_defs_answers_the_version_probe(self, xapi):
        response = xapi.get("/Defs", params={"$select": "Id"})
        assert response.status_code == 200
        assert response.headers["X-3CX-Version"].startswith("20.0.10")
        assert set(response.json()) == {"@odata.context", "Id"}


class TestPaging:
    @pytest.mark.parametrize("page_size", [1, 7, 30, 31])
    def test_top_and_skip_walk_the_whole_set_across_page_boundaries(self, xapi, page_size):
        expected = ids(everyone(xapi))
        seen, skip = [], 0
        while True:
            body = xapi.get(
                "/Users",
                params={"$top": page_size, "$skip": skip, "$count": "true", "$select": "Id"},
            ).json()
            assert body["@odata.count"] == len(expected)
            seen += ids(body["value"])
            if len(body["value"]) < page_size:
                break
            skip += page_size
        assert seen == expected

    def test_skipping_past_the_end_is_an_empty_page_with_the_count(self, xapi):
        body = xapi.get("/Users", params={"$skip": 1000, "$count": "true"}).json()
        assert body["value"] == []
        assert body["@odata.count"] == 30

    def test_the_count_follows_the_filter_not_the_page(self, xapi):
        enabled = [u for u in everyone(xapi) if u["Enabled"]]
        body = xapi.get(
            "/Users", params={"$filter": "Enabled eq true", "$top": 2, "$count": "true"}
        ).json()
        assert body["@odata.count"] == len(enabled)
        assert len(body["value"]) == 2

    def test_contacts_page_without_gaps_after_deletions_and_additions(self, xapi, simulator):
        for key in (1, 2, 50, 51, 120):
            simulator.simulator.delete("Contacts", key)
        added = simulator.simulator.add("Contacts", {"FirstName": "New", "LastName": "Contact"})
        seen, skip = [], 0
        while page := xapi.get("/Contacts", params={"$top": 13, "$skip": skip}).json()["value"]:
            seen += ids(page)
            skip += 13
        expected = [key for key in range(1, 121) if key not in (1, 2, 50, 51, 120)]
        assert seen == [*expected, added["Id"]]

    @pytest.mark.parametrize("value", ["-1", "ten", "1.5"])
    def test_top_must_be_a_non_negative_integer(self, xapi, value):
        error = odata_error(xapi.get("/Users", params={"$top": value}))
        assert "$top" in error["message"]

    def test_count_must_be_true_or_false(self, xapi):
        odata_error(xapi.get("/Users", params={"$count": "maybe"}))


class TestFilter:
    @pytest.mark.parametrize(
        ("expression", "check"),
        [
            ("Number eq '105'", lambda u: u["Number"] == "105"),
            ("Number ne '105'", lambda u: u["Number"] != "105"),
            ("Number gt '120'", lambda u: u["Number"] > "120"),
            ("Number ge '120'", lambda u: u["Number"] >= "120"),
            ("Number lt '103'", lambda u: u["Number"] < "103"),
            ("Number le '103'", lambda u: u["Number"] <= "103"),
            ("Id gt 20 and Id le 25", lambda u: 20 < u["Id"] <= 25),
            ("Number eq '100' or Number eq '101'", lambda u: u["Number"] in ("100", "101")),
            ("not (Enabled eq true)", lambda u: not u["Enabled"]),
            ("Enabled eq false", lambda u: u["Enabled"] is False),
            ("EmailAddress eq null", lambda u: u["EmailAddress"] is None),
            ("EmailAddress ne null", lambda u: u["EmailAddress"] is not None),
            ("QueueStatus eq 'LoggedIn'", lambda u: u["QueueStatus"] == "LoggedIn"),
            (
                "QueueStatus eq Pbx.QueueStatusType'LoggedOut'",
                lambda u: u["QueueStatus"] == "LoggedOut",
            ),
            ("contains(LastName,'ü')", lambda u: "ü" in u["LastName"]),
            ("startswith(Number,'11')", lambda u: u["Number"].startswith("11")),
            ("endswith(Number,'9')", lambda u: u["Number"].endswith("9")),
            (
                "contains(tolower(EmailAddress),'acme')",
                lambda u: "acme" in (u["EmailAddress"] or "").lower(),
            ),
            (
                "not contains(tolower(EmailAddress),'acme')",
                lambda u: u["EmailAddress"] is not None and "acme" not in u["EmailAddress"].lower(),
            ),
            (
                "(Number eq '100' or Number eq '102') and Enabled eq true",
                lambda u: u["Number"] in ("100", "102") and u["Enabled"],
            ),
            ("Number in ('100','104')", lambda u: u["Number"] in ("100", "104")),
        ],
    )
    def test_it_filters_like_odata(self, xapi, expression, check):
        expected = [u["Id"] for u in everyone(xapi) if check(u)]
        found = ids(users(xapi, **{"$filter": expression, "$select": "Id"}))
        assert found == expected
        assert 0 < len(found) < 30, "the data should make this filter meaningful"

    def test_a_doubled_quote_is_an_apostrophe(self, xapi):
        found = users(xapi, **{"$filter": "LastName eq 'O''Brien'", "$select": "LastName"})
        assert found
        assert {user["LastName"] for user in found} == {"O'Brien"}

    def test_lambda_any_reaches_into_group_memberships(self, xapi):
        admins = users(
            xapi,
            **{
                "$filter": "Groups/any(g: g/Rights/RoleName eq 'system_admins')",
                "$expand": "Groups($expand=Rights)",
                "$select": "Id",
            },
        )
        assert admins
        for user in admins:
            assert "system_admins" in {g["Rights"]["RoleName"] for g in user["Groups"]}

    @pytest.mark.parametrize(
        ("expression", "fragment"),
        [
            ("Nonsense eq 1", "Could not find a property named 'Nonsense' on type 'Pbx.User'"),
            ("Number eq", "Expression expected"),
            ("Number eq 'abc", "Unterminated string literal"),
            ("contains(Number,'1'", "')' expected"),
            ("Number eq '1' xor Id eq 1", "Syntax error"),
            ("Number eq 101", "incompatible types"),
            ("Number", "must evaluate to a single boolean value"),
            ("frobnicate(Number)", "unknown function with name 'frobnicate'"),
            ("contains(Id,'1')", "No function signature"),
            ("QueueStatus eq 'Sleeping'", "not a valid enumerated type constant"),
        ],
    )
    def test_a_bad_filter_is_a_400_that_says_why(self, xapi, expression, fragment):
        error = odata_error(xapi.get("/Users", params={"$filter": expression}))
        assert fragment in error["message"]
        assert error["target"] == "$filter"


class TestSelectOrderSearch:
    def test_without_select_users_come_with_their_secrets_like_a_real_server(self, xapi):
        assert set(users(xapi, **{"$top": 1})[0]) >= USER_SECRETS

    def test_select_answers_only_the_named_properties(self, xapi):
        found = users(xapi, **{"$select": "Id,DisplayName", "$top": 3})
        assert [set(user) for user in found] == [{"Id", "DisplayName"}] * 3

    def test_navigation_properties_only_appear_when_expanded(self, xapi):
        plain = users(xapi, **{"$top": 1})[0]
        assert "Groups" not in plain and "Phones" not in plain
        expanded = users(xapi, **{"$top": 1, "$expand": "Groups", "$select": "Id"})[0]
        assert set(expanded) == {"Id", "Groups"}
        assert expanded["Groups"][0]["GroupId"]
        assert "Rights" not in expanded["Groups"][0]

    def test_orderby_sorts_ascending_and_descending_on_several_keys(self, xapi):
        found = users(xapi, **{"$orderby": "Enabled desc,Number desc", "$select": "Enabled,Number"})
        keys = [(u["Enabled"], u["Number"]) for u in found]
        assert keys == sorted(keys, reverse=True)
        ascending = users(xapi, **{"$orderby": "LastName", "$select": "LastName"})
        names = [u["LastName"] for u in ascending]
        assert names == sorted(names)

    def test_search_is_a_case_insensitive_substring_over_the_text_fields(self, xapi):
        everybody = users(xapi, **{"$select": "Id,FirstName,LastName,DisplayName,EmailAddress"})
        expected = [
            u["Id"]
            for u in everybody
            if "o'brien" in (u["DisplayName"] or "").lower()
            or "o'brien" in (u["EmailAddress"] or "").lower()
        ]
        assert expected
        assert ids(users(xapi, **{"$search": "O'BRIEN", "$select": "Id"})) == expected

    def test_search_finds_contacts_by_company(self, xapi):
        found = xapi.get("/Contacts", params={"$search": "müller & söhne"}).json()["value"]
        assert found
        assert all("Müller & Söhne" in c["CompanyName"] for c in found)

    @pytest.mark.parametrize("option", ["$select", "$orderby", "$expand"])
    def test_an_unknown_property_is_named_in_the_error(self, xapi, option):
        value = {"$select": "Id,Foo", "$orderby": "Number,Foo desc", "$expand": "Groups,Foo"}[
            option
        ]
        error = odata_error(xapi.get("/Users", params={option: value}))
        assert "Could not find a property named 'Foo' on type 'Pbx.User'." in error["message"]

    def test_expanding_a_plain_property_is_refused(self, xapi):
        error = odata_error(xapi.get("/Users", params={"$expand": "FirstName"}))
        assert "not a navigation property" in error["message"]

    def test_an_unknown_query_option_is_refused(self, xapi):
        odata_error(xapi.get("/Users", params={"$frobnicate": "1"}))

    def test_a_repeated_query_option_is_refused(self, xapi):
        odata_error(xapi.get("/Users?$top=1&$top=2"))


class TestKeysAndNesting:
    def test_a_user_is_found_by_id_and_by_number(self, xapi, simulator):
        first = users(xapi, **{"$top": 1, "$select": "Id,Number"})[0]
        by_id = xapi.get(f"/Users({first['Id']})").json()
        by_number = xapi.get(f"/Users(Number='{first['Number']}')").json()
        assert by_id["@odata.context"].endswith("#Users/$entity")
        assert by_id == by_number
        assert by_id["Number"] == first["Number"]
        assert set(by_id) >= USER_SECRETS

    def test_a_key_can_select_and_expand(self, xapi):
        first = users(xapi, **{"$top": 1, "$select": "Id"})[0]
        body = xapi.get(
            f"/Users({first['Id']})", params={"$select": "Id", "$expand": "Groups"}
        ).json()
        assert set(body) == {"@odata.context", "Id", "Groups"}

    @pytest.mark.parametrize(
        "path",
        ["/Users(999999)", "/Users(Number='nobody')", "/Contacts(99999)", "/Peers(Number='x')"],
    )
    def test_a_missing_key_is_a_404_odata_error(self, xapi, path):
        odata_error(xapi.get(path), 404)

    @pytest.mark.parametrize(
        "path", ["/NoSuchSet", "/Users(1)/Nothing", "/Contacts(Number='1')", "/Users/Extra"]
    )
    def test_an_unknown_path_is_a_404_odata_error(self, xapi, path):
        odata_error(xapi.get(path), 404)

    def test_group_members_are_the_users_of_the_group(self, xapi):
        groups = xapi.get("/Groups", params={"$select": "Id,Name,HasMembers"}).json()["value"]
        people = users(xapi, **{"$select": "Number,PrimaryGroupId"})
        for group in groups:
            members = xapi.get(f"/Groups({group['Id']})/Members").json()["value"]
            extensions = {m["Number"] for m in members if m["Type"] == "Extension"}
            assert extensions == {u["Number"] for u in people if u["PrimaryGroupId"] == group["Id"]}
            assert group["HasMembers"] == bool(members)
            assert all(m["GroupId"] == group["Id"] and m["Name"] == group["Name"] for m in members)

    def test_expanding_members_gives_the_same_as_the_nested_route(self, xapi):
        group = xapi.get("/Groups", params={"$expand": "Members", "$top": 1}).json()["value"][0]
        nested = xapi.get(f"/Groups({group['Id']})/Members").json()["value"]
        assert group["Members"] == nested

    def test_queue_agents_include_disabled_users_and_missing_extensions(self, xapi):
        numbers = {u["Number"]: u for u in everyone(xapi)}
        agents = []
        for queue in xapi.get("/Queues", params={"$select": "Id"}).json()["value"]:
            agents += xapi.get(f"/Queues({queue['Id']})/Agents").json()["value"]
        assert any(a["Number"] in numbers and not numbers[a["Number"]]["Enabled"] for a in agents)
        assert any(a["Number"] not in numbers for a in agents)

    def test_ring_group_members_and_ivr_forwards_are_nested_collections(self, xapi):
        ring_group = xapi.get("/RingGroups", params={"$top": 1}).json()["value"][0]
        members = xapi.get(f"/RingGroups({ring_group['Id']})/Members", params={"$count": "true"})
        assert members.json()["@odata.count"] == len(members.json()["value"]) >= 2
        ivr = xapi.get("/Receptionists", params={"$top": 1}).json()["value"][0]
        forwards = xapi.get(
            f"/Receptionists({ivr['Id']})/Forwards", params={"$filter": "ForwardType eq 'Queue'"}
        ).json()["value"]
        assert forwards and all(f["ForwardType"] == "Queue" for f in forwards)

    def test_peers_list_every_kind_of_extension(self, xapi, simulator):
        peers = xapi.get("/Peers", params={"$select": "Number,Type"}).json()["value"]
        kinds = {peer["Type"] for peer in peers}
        assert {"Extension", "Queue", "RingGroup", "IVR", "Parking", "Group", "RoutePoint"} <= kinds
        client_id = simulator.simulator.config.client_id
        route_point = xapi.get(f"/Peers(Number='{client_id}')").json()
        assert route_point["Type"] == "RoutePoint"

    def test_system_status_counts_what_the_directory_holds(self, xapi, simulator):
        status = xapi.get("/SystemStatus").json()
        config = simulator.simulator.config
        trunks = xapi.get("/Trunks", params={"$select": "IsOnline"}).json()["value"]
        assert status["FQDN"] == config.fqdn
        assert status["Version"] == config.version
        assert status["ExtensionsTotal"] == config.users
        assert status["TrunksTotal"] == len(trunks)
        assert status["TrunksRegistered"] == sum(t["IsOnline"] for t in trunks) < len(trunks)
        assert status["Activated"] is True and status["LicenseActive"] is True
