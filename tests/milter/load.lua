-- One of 20 parallel clients: 10 messages each on one connection, a mix of valid bounces,
-- forged bounces and outbound mail.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.19")
local out = open("127.0.0.1")
for i = 1, 10 do
	local qid = "QLOAD" .. client .. "x" .. i
	if i % 3 == 0 then
		mail(out, "<alice@example.com>", qid)
		check(rcpt(out, "<someone@other.example>") == SMFIR_CONTINUE, "outbound refused")
		check(finish(out) == SMFIR_CONTINUE, "eom")
	elseif i % 3 == 1 then
		mail(conn, "<>", qid)
		check(rcpt(conn, "<" .. valid .. ">") == SMFIR_CONTINUE, "valid bounce refused")
		check(finish(conn) == SMFIR_CONTINUE, "eom")
	else
		mail(conn, "<>", qid)
		check(rcpt(conn, "<alice@example.com>") == SMFIR_REPLYCODE, "forged bounce accepted")
		check(mt.abort(conn) == nil, "abort")
	end
end
mt.disconnect(conn)
mt.disconnect(out)
