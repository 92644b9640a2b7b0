-- replies.lua: replies, read receipts, auto-replies and bounces are judged at end of message
-- by what they answer (issue 15's decisions table, row by row). replies.sh starts the milter
-- with OnUntagged reject, MaxBouncesPerTag 2 and SentSince in the past, and passes the valid
-- tag of alice (valid); it then checks the log line of each queue id.
dofile(srcdir .. "/common.lua")

-- send: one outbound message from sender with Message-ID msgid (nil: none)
local function send(qid, sender, msgid)
	local conn = open("127.0.0.1")
	mail(conn, sender, qid)
	check(rcpt(conn, "<friend@remote.example>") == SMFIR_CONTINUE, qid .. ": rcpt refused")
	local hs = {}
	if msgid then hs = { { "Message-ID", msgid } } end
	check(finish(conn, hs) == SMFIR_CONTINUE, qid .. ": outbound eom")
	return conn
end

-- inbound: sender, recipients, headers and body; returns the connection and the EOM reply
local function inbound(qid, sender, rcpts, headers, body)
	local conn = open("192.0.2.30")
	mail(conn, sender, qid)
	for _, r in ipairs(rcpts) do
		check(rcpt(conn, r) == SMFIR_CONTINUE, qid .. ": " .. r .. " refused at RCPT")
	end
	for _, h in ipairs(headers) do
		check(mt.header(conn, h[1], h[2]) == nil, qid .. ": header " .. h[1])
	end
	check(mt.eoh(conn) == nil, qid .. ": eoh")
	if body then check(mt.bodystring(conn, body) == nil, qid .. ": body") end
	check(mt.eom(conn) == nil, qid .. ": eom")
	return conn, mt.getreply(conn)
end

local function accepted(qid, verdict, conn, reply)
	check(reply == SMFIR_CONTINUE, qid .. ": not accepted")
	check(mt.eom_check(conn, MT_HDRADD, "X-Backstop"), qid .. ": no X-Backstop header")
	local h = mt.getheader(conn, "X-Backstop", 0)
	check(h ~= nil and string.find(h, verdict, 1, true), qid .. ": header is " ..
	    tostring(h) .. ", not " .. verdict)
	mt.disconnect(conn)
end

local function refused(qid, conn, reply)
	check(reply == SMFIR_REPLYCODE, qid .. ": not refused at end of message")
	mt.disconnect(conn)
end

local oof = { { "From", "Bob <friend@remote.example>" }, { "To", "alice@example.com" },
	{ "Subject", "Automatic reply: hello" }, { "Auto-Submitted", "auto-generated" },
	{ "X-Auto-Response-Suppress", "All" } }
local vac = { { "From", "robot@remote.example" }, { "To", "alice@example.com" },
	{ "Subject", "Re: hello (away)" }, { "Auto-Submitted", "auto-replied" } }
local notice = { { "From", "ci@remote.example" }, { "Subject", "build failed" },
	{ "Auto-Submitted", "auto-generated" } }
local function with(base, more)
	local t = {}
	for _, h in ipairs(base) do t[#t + 1] = h end
	for _, h in ipairs(more) do t[#t + 1] = h end
	return t
end

mt.disconnect(send("QSENT1", "<alice@example.com>", "<sent1.Alice@Example.COM>"))
mt.disconnect(send("QSENT2", "<alice@example.com>", "<sent2@example.com>"))
mt.disconnect(send("QSENT3", "<alice@example.com>", "<sent3@example.com>"))
mt.disconnect(send("QSENTB", "<bob@example.com>", "<bobs@example.com>"))
local c = send("QSENTBAD", "<alice@example.com>", "bad-id-without-brackets")
check(not mt.eom_check(c, MT_HDRADD, "Message-ID"), "QSENTBAD: a second Message-ID added")
mt.disconnect(c)
c = send("QSENTN", "<alice@example.com>", nil)
check(mt.eom_check(c, MT_HDRADD, "Message-ID"), "QSENTN: no Message-ID added")
mt.disconnect(c)

-- untagged, null sender, auto-reply, known: accept (proven); the msg-id as normalised
accepted("QOOF1", "proven", inbound("QOOF1", "<>", { "<alice@example.com>" },
    with(oof, { { "In-Reply-To", "<sent1.Alice@example.com>" } })))
-- ... unknown: OnUntagged (reject)
refused("QOOF2", inbound("QOOF2", "<>", { "<alice@example.com>" },
    with(oof, { { "In-Reply-To", "<never@example.com>" } })))
-- ... known, but sent by bob, another of ours (a shared mailbox, Send-As): proves nothing
-- for alice, forges nothing either: absent, so OnAutoReply (mark)
accepted("QOOF3", "auto-reply", inbound("QOOF3", "<>", { "<alice@example.com>" },
    with(oof, { { "In-Reply-To", "<bobs@example.com>" } })))
-- ... absent: OnAutoReply (mark)
accepted("QOOF4", "auto-reply", inbound("QOOF4", "<>", { "<alice@example.com>" }, oof))
-- read receipt, Original-Message-ID known: proven
local mdn = "--b1\r\nContent-Type: text/plain\r\n\r\nYour message was displayed.\r\n" ..
    "--b1\r\nContent-Type: message/disposition-notification\r\n\r\n" ..
    "Reporting-UA: mua.remote.example\r\nOriginal-Recipient: rfc822;friend@remote.example\r\n" ..
    "Final-Recipient: rfc822;friend@remote.example\r\nOriginal-Message-ID: <sent2@example.com>\r\n" ..
    "Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--b1--\r\n"
local mdnh = { { "From", "friend@remote.example" }, { "Subject", "Read: hello" },
	{ "MIME-Version", "1.0" }, { "Content-Type",
	"multipart/report; report-type=disposition-notification; boundary=\"b1\"" } }
accepted("QMDN1", "proven", inbound("QMDN1", "<>", { "<alice@example.com>" }, mdnh, mdn))
-- other (no marker), null sender, known: proven; unknown: OnUntagged
accepted("QOTHER1", "proven", inbound("QOTHER1", "<>", { "<alice@example.com>" },
    { { "Subject", "Re: hello" }, { "References", "<x@y.example> <sent3@example.com>" } }))
refused("QOTHER2", inbound("QOTHER2", "<>", { "<alice@example.com>" },
    { { "Subject", "Re: hello" }, { "In-Reply-To", "<nope@example.com>" } }))
-- known, but MaxBouncesPerTag (2) answers already accepted to sent1: OnReplay
accepted("QLIMIT1", "proven", inbound("QLIMIT1", "<>", { "<alice@example.com>" },
    with(oof, { { "In-Reply-To", "<sent1.Alice@example.com>" } })))
refused("QLIMIT2", inbound("QLIMIT2", "<>", { "<alice@example.com>" },
    with(oof, { { "In-Reply-To", "<sent1.Alice@example.com>" } })))
-- untagged, null sender, delivery report of a message alice sent unsigned: proven
local dsnh = { { "From", "MAILER-DAEMON@remote.example" },
	{ "Subject", "Undelivered Mail Returned to Sender" }, { "MIME-Version", "1.0" },
	{ "Content-Type", "multipart/report; report-type=delivery-status; boundary=\"b2\"" } }
local function dsn(msgid)
	return "--b2\r\nContent-Type: text/plain\r\n\r\nI could not deliver it.\r\n" ..
	    "--b2\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.remote.example\r\n\r\n" ..
	    "Final-Recipient: rfc822; nobody@remote.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n" ..
	    "--b2\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: alice@example.com\r\n" ..
	    "Message-ID: " .. msgid .. "\r\nSubject: hello\r\n\r\n--b2--\r\n"
end
accepted("QDSN1", "proven", inbound("QDSN1", "<>", { "<alice@example.com>" }, dsnh,
    dsn("<sent3@example.com>")))
-- ... of a message alice never sent: OnUntagged
refused("QDSN1B", inbound("QDSN1B", "<>", { "<alice@example.com>" }, dsnh,
    dsn("<forged@example.com>")))
-- valid tag, delivery report, known: accepted and stripped, as today
local conn, reply = inbound("QDSN2", "<>", { "<" .. valid .. ">" }, dsnh, dsn("<sent3@example.com>"))
check(reply == SMFIR_CONTINUE, "QDSN2: not accepted")
check(mt.eom_check(conn, MT_RCPTDELETE, "<" .. valid .. ">"), "QDSN2: tag not stripped")
check(mt.eom_check(conn, MT_RCPTADD, "<alice@example.com>"), "QDSN2: plain not added")
mt.disconnect(conn)
-- ... unknown original: OnUnknownOriginal (mark), still delivered to alice
conn, reply = inbound("QDSN3", "<>", { "<" .. valid .. ">" }, dsnh, dsn("<forged@example.com>"))
accepted("QDSN3", "unknown-original", conn, reply)
-- untagged, non-null sender, auto-reply: known proven, unknown OnAutoReply (mark)
accepted("QAUTO1", "proven", inbound("QAUTO1", "<robot@remote.example>", { "<alice@example.com>" },
    with(vac, { { "In-Reply-To", "<sent3@example.com>" } })))
accepted("QAUTO2", "auto-reply", inbound("QAUTO2", "<robot@remote.example>", { "<alice@example.com>" },
    with(vac, { { "In-Reply-To", "<spam@spammer.example>" } })))
-- ordinary mail, non-null sender, with a reference nobody sent: untouched
conn, reply = inbound("QPLAIN", "<friend@remote.example>", { "<alice@example.com>" },
    { { "Subject", "Re: hello" }, { "In-Reply-To", "<spam@spammer.example>" } })
check(reply == SMFIR_CONTINUE, "QPLAIN: not accepted")
check(not mt.eom_check(conn, MT_HDRADD, "X-Backstop"), "QPLAIN: marked")
mt.disconnect(conn)
-- a notice with a sender (Auto-Submitted: auto-generated: cron, CI) is not a reply: untouched
conn, reply = inbound("QNOTICE", "<ci@remote.example>", { "<alice@example.com>" },
    with(notice, { { "In-Reply-To", "<spam@spammer.example>" } }))
check(reply == SMFIR_CONTINUE, "QNOTICE: not accepted")
check(not mt.eom_check(conn, MT_HDRADD, "X-Backstop"), "QNOTICE: marked")
mt.disconnect(conn)
-- two recipients, one refused (a null-sender reply to alice's mail, no auto-reply marker:
-- for carol it proves nothing, so OnUntagged): the message stays, carol is removed
conn, reply = inbound("QMIX", "<>", { "<alice@example.com>", "<carol@example.com>" },
    { { "Subject", "Re: hello" }, { "In-Reply-To", "<sent2@example.com>" } })
check(reply == SMFIR_CONTINUE, "QMIX: message refused")
check(mt.eom_check(conn, MT_RCPTDELETE, "<carol@example.com>"), "QMIX: carol not removed")
check(not mt.eom_check(conn, MT_RCPTDELETE, "<alice@example.com>"), "QMIX: alice removed")
mt.disconnect(conn)
-- two recipients kept and marked: neither copy names the other recipient
conn, reply = inbound("QPRIV", "<>", { "<alice@example.com>", "<bob@example.com>" }, oof)
check(reply == SMFIR_CONTINUE, "QPRIV: refused")
local h = mt.getheader(conn, "X-Backstop", 0)
check(h ~= nil and not string.find(h, "@", 1, true) and string.find(h, "auto-reply", 1, true),
    "QPRIV: the header names recipients: " .. tostring(h))
mt.disconnect(conn)
