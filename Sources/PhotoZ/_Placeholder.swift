// PhotoZ
