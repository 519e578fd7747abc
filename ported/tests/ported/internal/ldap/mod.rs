mod dn_test;
