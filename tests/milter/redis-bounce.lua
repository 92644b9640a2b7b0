-- redis-bounce.lua: one bounce to the tag given as -D tag, with queue id -D qid; prints
-- "accepted", "refused" or "deferred" for redis.sh to count. -D abort=yes: the client
-- goes away after RCPT (the milter gets an abort), so nothing arrives.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.13")
mail(conn, "<>", qid)
local r = rcpt(conn, "<" .. tag .. ">")
if r ~= SMFIR_CONTINUE then
	print(r == SMFIR_TEMPFAIL and "deferred" or "refused")
elseif abort ~= "no" then
	check(mt.abort(conn) == nil, "abort failed")
	print("aborted")
else
	r = finish(conn)
	print(r == SMFIR_CONTINUE and "accepted" or "refused at end of data")
end
mt.disconnect(conn)
