from tests.support.graphql import GraphQLClient


async def test_viewer_and_stage_counts(gql: GraphQLClient) -> None:
    data = await gql.ok("{ viewer { workspaceName role apiKeyName } stageCounts { version total counts { stage { name kind } count } } }")
    assert data["viewer"]["role"] == "ADMIN"
    assert [c["stage"]["name"] for c in data["stageCounts"]["counts"]] == ["Open", "Closed", "Snoozed", "Auto closed"]
