-- replies-strict.lua: with OnAutoReply reject and OnUnknownOriginal reject, an auto-reply to a
-- message alice never sent and a bounce of one are refused at end of message; with
-- UntaggedBounceDecision rcpt, an untagged bounce is refused at RCPT as before.
-- With -D dry=yes (DryRun yes) both are accepted, and marked.
dofile(srcdir .. "/common.lua")
local want = dry == "yes" and SMFIR_CONTINUE or SMFIR_REPLYCODE
local conn = open("192.0.2.31")
mail(conn, "<robot@remote.example>", "QSTRICT1")
check(rcpt(conn, "<alice@example.com>") == SMFIR_CONTINUE, "QSTRICT1: refused at RCPT")
check(mt.header(conn, "Auto-Submitted", "auto-replied") == nil, "header")
check(mt.header(conn, "In-Reply-To", "<spam@spammer.example>") == nil, "header")
check(mt.eoh(conn) == nil, "eoh")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == want, "QSTRICT1: auto-reply to unsent mail not refused")
mail(conn, "<>", "QSTRICT2")
check(rcpt(conn, "<" .. valid .. ">") == SMFIR_CONTINUE, "QSTRICT2: refused at RCPT")
check(mt.header(conn, "Content-Type",
    "multipart/report; report-type=delivery-status; boundary=zz") == nil, "header")
check(mt.eoh(conn) == nil, "eoh")
check(mt.bodystring(conn, "--zz\r\nContent-Type: text/rfc822-headers\r\n\r\n" ..
    "Message-ID: <forged@spammer.example>\r\n\r\n--zz--\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == want, "QSTRICT2: bounce of unsent mail not refused")
-- a sender, one of two recipients refused: kept and marked (a removal would tell nobody)
mail(conn, "<robot@remote.example>", "QSTRICT3")
check(rcpt(conn, "<alice@example.com>") == SMFIR_CONTINUE, "QSTRICT3: refused at RCPT")
check(rcpt(conn, "<friend@remote.example>") == SMFIR_CONTINUE, "QSTRICT3: refused at RCPT")
check(mt.header(conn, "Auto-Submitted", "auto-replied") == nil, "header")
check(mt.header(conn, "In-Reply-To", "<spam@spammer.example>") == nil, "header")
check(mt.eoh(conn) == nil, "eoh")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_CONTINUE, "QSTRICT3: the message was refused")
check(not mt.eom_check(conn, MT_RCPTDELETE, "<alice@example.com>"), "QSTRICT3: alice removed")
check(mt.eom_check(conn, MT_HDRADD, "X-Backstop"), "QSTRICT3: not marked")
mt.disconnect(conn)
