"""Every AWS client of a process is made from one botocore session (adapters/aws.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pynamodb.connection import Connection

NOWHERE = "http://127.0.0.1:9"  # no request is sent: clients are only made


def test_every_dynamodb_connection_and_boto3_client_is_made_from_the_one_session() -> None:
    from chalicelib.adapters import aws, dynamo_models  # noqa: F401 - hands pynamodb the session

    first, second = (Connection(region="cn-north-1", host=NOWHERE) for _ in range(2))
    s3 = aws._client("s3", "cn-north-1", NOWHERE)
    assert first.session is second.session is aws.botocore_session()
    assert aws._boto3_session()._session is aws.botocore_session()
    # one loader: the DynamoDB model is read once however many connections use it
    assert (first.client._loader is second.client._loader  # type: ignore[attr-defined]
            is s3._loader)


def test_clients_made_from_several_threads_at_once_are_all_made_from_the_one_session() -> None:
    from chalicelib.adapters import aws, dynamo_models  # noqa: F401

    def make(k: int):
        connection = Connection(region="cn-north-1", host=f"{NOWHERE}{k}")
        return connection.session, connection.client

    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(make, range(16)))
    assert {id(session) for session, _ in made} == {id(aws.botocore_session())}
    assert len({id(client) for _, client in made}) == 16


def test_forgetting_the_clients_makes_a_new_session_for_the_next_ones() -> None:
    from chalicelib.adapters import aws

    before = aws.botocore_session()
    client = aws._client("sqs", "cn-north-1", NOWHERE)
    aws.forget_clients()
    assert aws.botocore_session() is not before
    assert aws._client("sqs", "cn-north-1", NOWHERE) is not client


def test_a_client_made_while_another_is_being_made_in_the_same_thread_does_not_wait_for_it():
    # as a credential provider (an assumed role, SSO) makes its STS client from the session
    # while the session makes the client that asked for credentials
    import threading

    from chalicelib.adapters import aws

    aws.forget_clients()
    session = aws.botocore_session()
    inner: list[object] = []

    def make_another(**_):
        if not inner:
            inner.append(session.create_client("sts", "cn-north-1", endpoint_url=NOWHERE))

    session.register("creating-client-class.kms", make_another)
    done = threading.Event()

    def make():
        session.create_client("kms", "cn-north-1", endpoint_url=NOWHERE)
        done.set()

    threading.Thread(target=make, daemon=True).start()
    assert done.wait(10), "the session waited for itself"
    assert len(inner) == 1
    aws.forget_clients()


def test_a_client_builds_its_user_agent_once_for_each_set_of_features(monkeypatch) -> None:
    from botocore.awsrequest import AWSResponse
    from botocore.context import get_context, start_as_current_context
    from botocore.useragent import UserAgentString

    from chalicelib.adapters import aws

    built: list[str] = []
    botocores = UserAgentString.to_string

    def counted(self) -> str:
        built.append(botocores(self))
        return built[-1]

    monkeypatch.setattr(UserAgentString, "to_string", counted)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws.forget_clients()
    s3 = aws._client("s3", "cn-north-1", NOWHERE)
    sent: list[str] = []

    def answer(request, **_):  # no network: the request as it would be sent, answered 200
        sent.append(request.headers["User-Agent"].decode())
        return AWSResponse(request.url, 200, {}, Empty())

    class Empty:
        def stream(self, **_):
            return iter(())

    s3.meta.events.register("before-send", answer)
    for _ in range(3):
        s3.head_bucket(Bucket="archive")
    # botocore builds it twice a request (for the request, then again before signing, with the
    # features the request recorded meanwhile): six times; now once for each set of features
    assert len(built) == 2
    assert sent == [built[1]] * 3
    with start_as_current_context():
        get_context().features.add("ours")
        with_feature = s3._user_agent_creator.to_string()
        assert with_feature == botocores(s3._user_agent_creator)  # botocore's own header
    assert len(built) == 3 and "ours" in with_feature.split(" m/")[1].split(" ")[0]
    aws.forget_clients()
