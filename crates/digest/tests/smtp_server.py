"""Test helper for crates/digest/tests/smtp.rs (needs aiosmtpd).

serve PORT MAILDIR [USER:PASSWORD]
    An SMTP server on 127.0.0.1:PORT storing messages in MAILDIR. With USER:PASSWORD, AUTH
    (PLAIN/LOGIN) is offered without TLS and required. Recipients starting with "temp" get
    451, those starting with "perm" get 550.
dump MAILDIR
    Prints the messages in MAILDIR as JSON: decoded headers and the leaf parts.
"""

import asyncio
import json
import mailbox
import sys
from email.header import decode_header, make_header


def serve(port, maildir, creds):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox
    from aiosmtpd.smtp import AuthResult

    class Handler(Mailbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("temp"):
                return "451 4.3.0 mailbox busy, try later"
            if address.startswith("perm"):
                return "550 5.1.1 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    kwargs = {}
    if creds:
        user, password = creds.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            if ok:
                return AuthResult(success=True)
            # With aiosmtpd 1.4.6 a plain AuthResult(success=False) never answers the client
            # (the connection hangs); an explicit message makes it reply 535.
            return AuthResult(
                success=False, handled=False, message="535 5.7.8 Authentication credentials invalid"
            )

        kwargs = dict(
            authenticator=authenticator, auth_required=True, auth_require_tls=False
        )
    controller = Controller(
        Handler(maildir), hostname="127.0.0.1", port=port, server_kwargs=kwargs
    )
    controller.start()
    try:
        asyncio.run(asyncio.sleep(3600))
    finally:
        controller.stop()


def dump(maildir):
    out = []
    for msg in mailbox.Maildir(maildir, create=False):
        headers = {}
        for k, v in msg.items():
            headers.setdefault(k.lower(), []).append(str(make_header(decode_header(v))))
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True) or b""
            parts.append(
                {
                    "type": part.get_content_type(),
                    "body": payload.decode(part.get_content_charset() or "utf-8"),
                }
            )
        out.append(
            {"content_type": msg.get_content_type(), "headers": headers, "parts": parts}
        )
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    elif sys.argv[1] == "dump":
        dump(sys.argv[2])
    else:
        sys.exit("usage: smtp_server.py serve PORT MAILDIR [USER:PASS] | dump MAILDIR")
