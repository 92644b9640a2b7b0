-- A bounce to an SRS address that postsrsd signed (SRSLegacySecrets) is accepted and
-- reversed at EOM, in any case; one with a changed hash is rejected. legacy.sh gives the
-- addresses: postsrsd 1.10's own output for its secret, on the day the milter runs at.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.15")
mail(conn, "<>", "QLEGACY")
check(rcpt(conn, "<" .. legacybad .. ">") == SMFIR_REPLYCODE, "forged legacy SRS not rejected")
check(rcpt(conn, "<" .. legacy0 .. ">") == SMFIR_CONTINUE, "postsrsd's SRS0 refused")
check(rcpt(conn, "<" .. legacy1 .. ">") == SMFIR_CONTINUE, "postsrsd's SRS1 refused")
check(finish(conn) == SMFIR_CONTINUE, "eom")
check(mt.eom_check(conn, MT_RCPTDELETE, "<" .. legacy0 .. ">"), "SRS0 recipient not deleted")
check(mt.eom_check(conn, MT_RCPTADD, "<" .. legacy0plain .. ">"), "original sender not added")
check(mt.eom_check(conn, MT_RCPTADD, "<" .. legacy1plain .. ">"), "first hop's SRS0 not added")
mt.disconnect(conn)
