/**
 * Federations with ejabberd (issue 23): two Debian ejabberd 23.01 servers (a.test, b.test), then the
 * robot on ejabberd reached from Prosody, s2s with STARTTLS and dialback on loopback, each server
 * finding the others through SRV records of the test's own DNS server (test/helpers/federation.ts).
 * The scenarios are those of the Prosody federation (test/helpers/federation-suite.ts).
 */
import { federationSuite } from '../helpers/federation-suite.js';

federationSuite({ 'a.test': 'ejabberd', 'b.test': 'ejabberd' });
federationSuite({ 'a.test': 'ejabberd', 'b.test': 'prosody' });
