/**
 * The signaling service of direct links, as peers see it: its methods and types. `DirectLinkHost`
 * (host.ts) implements it; `DirectLink` (link.ts) calls it through the peer's gateway or XMPP.
 */
import { defineObject, method, t } from '../../object/index.js';

/** The answer to `offerMovable`: the SDP, and the key that `move` takes (restarts.ts). */
export const MovableAnswer = t.struct('DirectLinkMovableAnswer', { answer: t.string, key: t.string });

/** The signaling service: offer/answer (whole, or trickled: trickle.ts), and hang-up. */
export const DirectLinkDefinition = defineObject({
  description: 'Signaling of direct ICE links (docs/links.md): offer an SDP, get the answer; hang up when done',
  methods: {
    offer: method([t.string, t.string], t.string, {
      description: 'Takes an ICE offer (all candidates gathered), returns the answer',
      paramNames: ['link', 'sdp'],
    }),
    offerTrickle: method([t.string, t.string], t.string, {
      description: 'Takes an ICE offer whose candidates follow through trickle, returns the answer at once',
      paramNames: ['link', 'sdp'],
    }),
    trickle: method([t.string, t.list(t.string)], t.list(t.string), {
      description:
        'Adds the caller’s candidates to a trickled link ("" ends them) and returns the host’s gathered since the last call, waiting up to 2 s when the caller sent none',
      paramNames: ['link', 'candidates'],
    }),
    offerMovable: method([t.string, t.string], MovableAnswer, {
      description:
        'As offerTrickle, for a link whose streams survive a move to a new path (resume.ts): returns the answer and the key that move takes',
      paramNames: ['link', 'sdp'],
    }),
    move: method([t.string, t.string, t.string], t.string, {
      description:
        'Moves a link opened with offerMovable onto a new peer connection, for the holder of its key: takes its offer, returns the answer',
      paramNames: ['link', 'key', 'sdp'],
    }),
    offerResumable: method([t.string, t.string], t.string, {
      description: 'As offerTrickle, with resumable streams (older openers): such a link cannot move',
      paramNames: ['link', 'sdp'],
    }),
    restart: method([t.string, t.string], t.string, {
      description: 'Refused (older openers): a link moves with move and its key',
      paramNames: ['link', 'sdp'],
    }),
    hangup: method([t.string], undefined, {
      description: 'Closes a link (one opened with offerMovable closes with release)',
      paramNames: ['link'],
    }),
    release: method([t.string, t.string], undefined, {
      description: 'Closes a link opened with offerMovable, for the holder of its key',
      paramNames: ['link', 'key'],
    }),
  },
});
