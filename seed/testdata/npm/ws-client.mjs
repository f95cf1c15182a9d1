// Drives the npm bittorrent-tracker client (as WebTorrent uses it) against
// a WebSocket tracker: node ws-client.mjs WS_ANNOUNCE_URL INFOHASH_HEX.
// Node has no WebRTC here (node-datachannel needs a prebuilt binary that
// cannot be downloaded), so webrtc-polyfill is stubbed out, the clients
// send no offers (numwant 0) and a stub wrtc object only gets past the
// client's WebRTC support check.
// Prints one JSON line per step; exits non-zero on a warning or error.
import { register } from 'node:module'

const stub = 'export const RTCPeerConnection = undefined, RTCSessionDescription = undefined, RTCIceCandidate = undefined'
register('data:text/javascript,' + encodeURIComponent(`
export async function resolve (specifier, context, next) {
  if (specifier === 'webrtc-polyfill') {
    return { url: 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(stub)}), shortCircuit: true }
  }
  return next(specifier, context)
}`))
const { default: Client } = await import('bittorrent-tracker')

const [announce, infoHash] = process.argv.slice(2)
const fail = (what) => (err) => { console.error(`${what}: ${err && err.message}`); process.exit(1) }
const out = (step, data) => console.log(JSON.stringify({ step, ...data }))

function client (peerIdAscii) {
  const c = new Client({
    infoHash,
    peerId: Buffer.from(peerIdAscii).toString('hex'),
    announce: [announce],
    port: 6881,
    wrtc: {}
  })
  c.on('error', fail('error'))
  c.on('warning', fail('warning'))
  return c
}

const once = (c, ev) => new Promise(resolve => c.once(ev, resolve))

const seeder = client('-WW0208-seeder000001')
seeder.start({ numwant: 0, left: 0 })
let u = await once(seeder, 'update')
out('seeder-started', { complete: u.complete, incomplete: u.incomplete })

const leecher = client('-WW0208-leecher00001')
leecher.start({ numwant: 0, left: 1000 })
u = await once(leecher, 'update')
out('leecher-started', { complete: u.complete, incomplete: u.incomplete })

seeder.scrape()
let s = await once(seeder, 'scrape')
out('scrape', { complete: s.complete, incomplete: s.incomplete, downloaded: s.downloaded })

leecher.complete({ numwant: 0, left: 0 })
u = await once(leecher, 'update')
out('leecher-completed', { complete: u.complete, incomplete: u.incomplete })

leecher.stop()
u = await once(leecher, 'update')
out('leecher-stopped', { complete: u.complete, incomplete: u.incomplete })
leecher.destroy()
seeder.scrape()
s = await once(seeder, 'scrape')
out('scrape-after-stop', { complete: s.complete, incomplete: s.incomplete, downloaded: s.downloaded })
seeder.destroy()
