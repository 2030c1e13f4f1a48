"""The SMTP backend against a real server, with and without RFC 2920 pipelining."""

from __future__ import annotations

import pytest

from bulletin.delivery.backends import SMTPBackend
from tests.support.smtp import SMTPServer, free_port
from tests.support.tlscerts import TestCA

MESSAGE = (
    b"From: a@example.org\r\nTo: b@example.org\r\nSubject: dots\r\n\r\n"
    b".starts with a dot\r\nmiddle\r\n..two dots\r\n.\r\nend"
)


@pytest.fixture(params=[False, True], ids=["plain", "pipelined"])
def server(request):
    server = SMTPServer()
    server.handler.pipelining = request.param
    server.start()
    yield server
    server.stop()


def test_messages_arrive_intact_with_dot_stuffing(server):
    backend = SMTPBackend(server.url)
    try:
        for _ in range(3):  # one connection, several messages
            assert backend.send(MESSAGE, "bounces@example.org", ["b@example.org"]).ok
        assert backend._conn.has_extn("pipelining") == server.handler.pipelining
    finally:
        backend.close()
    received = server.wait_for(3)
    assert all(
        r.raw.replace(b"\r\n", b"\n").rstrip(b"\n") == MESSAGE.replace(b"\r\n", b"\n")
        for r in received
    )
    assert received[0].mail_from == "bounces@example.org"


def test_refusals_are_reported_and_the_connection_stays_usable(server):
    server.handler.replies["gone@example.org"] = ["550 5.1.1 No such user"]
    server.handler.replies["busy@example.org"] = ["451 4.3.0 Try later"]
    backend = SMTPBackend(server.url)
    try:
        gone = backend.send(MESSAGE, "s@example.org", ["gone@example.org"])
        busy = backend.send(MESSAGE, "s@example.org", ["busy@example.org"])
        fine = backend.send(MESSAGE, "s@example.org", ["fine@example.org"])
    finally:
        backend.close()
    assert (gone.ok, gone.code, gone.enhanced_status, gone.is_permanent) == (
        False,
        550,
        "5.1.1",
        True,
    )
    assert (busy.ok, busy.code, busy.is_permanent) == (False, 451, False)
    assert fine.ok
    assert [r.rcpt_tos for r in server.wait_for(1)] == [["fine@example.org"]]


def test_an_address_with_a_line_break_is_refused_before_anything_is_sent(server):
    backend = SMTPBackend(server.url)
    try:
        result = backend.send(
            MESSAGE, "s@example.org", ["x@example.org>\r\nRCPT TO:<y@example.org"]
        )
    finally:
        backend.close()
    assert not result.ok and result.code == 501
    assert server.received == []


def test_unreachable_server_is_a_connection_error():
    backend = SMTPBackend(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    result = backend.send(MESSAGE, "s@example.org", ["b@example.org"])
    assert not result.ok and result.connection_error


@pytest.mark.parametrize("scheme", ["smtps", "smtp+starttls"])
def test_tls_to_a_server_we_cannot_verify_sends_nothing(tmp_path, scheme):
    # The relay's certificate is signed by a CA the system does not know: refuse to send.
    served = TestCA(tmp_path).server_context("127.0.0.1")
    server = SMTPServer(**({"tls": served} if scheme == "smtps" else {"starttls": served}))
    server.start()
    backend = SMTPBackend(f"{scheme}://127.0.0.1:{server.port}", timeout=10)
    try:
        result = backend.send(MESSAGE, "bounces@example.org", ["b@example.org"])
    finally:
        backend.close()
        server.stop()
    assert not result.ok and result.connection_error
    assert "CERTIFICATE_VERIFY_FAILED" in result.reply and server.received == []
