"""Stateless Digest nonces: signed timestamps that expire."""

from khudan.openrosa import auth


def test_nonce_state_rules():
    nonce = auth.make_nonce("s", now=1000)
    assert auth.nonce_state("s", nonce, now=1000 + auth.NONCE_TTL) == "fresh"
    assert auth.nonce_state("s", nonce, now=1001 + auth.NONCE_TTL) == "stale"
    assert auth.nonce_state("other", nonce, now=1000) == "bad"
    assert auth.nonce_state("s", "not-base64!", now=1000) == "bad"
