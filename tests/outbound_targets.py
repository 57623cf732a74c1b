"""The URLs the outbound address guard must refuse: one list, used by the send-time guard's tests
(tests/deliveries/test_outbound.py) and by every save-time check (subscriptions, agent callbacks)."""

REFUSED_TARGET_URLS = [
    "http://127.0.0.1/",
    "http://10.0.0.8/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/",
    "http://localhost/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fd00:ec2::254]/",
    "http://224.0.0.1/",
    "http://0.0.0.0/",
    "http://100.100.100.200/",
    "http://user:pw@example.com/",
    # IPv4 carried inside IPv6: 6to4 (2002::/16) and NAT64 (64:ff9b::/96, 64:ff9b:1::/48).
    "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2002:0a00:0001::]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::169.254.169.254]/",
    "http://[64:ff9b:1::a00:1]/",
]
