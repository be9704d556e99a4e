"""Helpers the tests share: servers on loopback, recorded feeds, mail parts."""
