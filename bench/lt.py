#!/usr/bin/python3
"""libtorrent (Debian python3-libtorrent) as a benchmark seeder or leecher.

    lt.py seed  TORRENT SAVE_DIR PORT   seed (seed_mode: no hash check) until killed
    lt.py leech TORRENT SAVE_DIR PORT   download, print seconds taken, exit 0

Loopback only: listens on 127.0.0.1:PORT, DHT, LSD, UPnP and NAT-PMP off.
allow_multiple_connections_per_ip is on because every benchmark peer shares
127.0.0.1 (libtorrent would otherwise refuse all leechers but one); uTP is off.
"""
import sys
import time

import libtorrent as lt


def main():
    mode, torrent, save, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    s = lt.session({
        "listen_interfaces": "127.0.0.1:%d" % port,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        # TCP only, like aria2c: uTP between libtorrent and transmission
        # crawls on loopback (0.2 MB/s measured).
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "alert_mask": lt.alert.category_t.error_notification,
    })
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = save
    if mode == "seed":
        atp.flags |= lt.torrent_flags.seed_mode
    h = s.add_torrent(atp)
    start = time.monotonic()
    if mode == "seed":
        print("seeding", flush=True)
        while True:
            time.sleep(1)
    deadline = start + float(sys.argv[5]) if len(sys.argv) > 5 else start + 3600
    while True:
        st = h.status()
        if st.is_seeding or st.state == lt.torrent_status.seeding:
            break
        if st.errc.value():
            sys.exit("libtorrent error: %s" % st.errc.message())
        if time.monotonic() > deadline:
            sys.exit("timeout at %.1f %%" % (st.progress * 100))
        time.sleep(0.05)
    print("%.3f" % (time.monotonic() - start), flush=True)


if __name__ == "__main__":
    main()
