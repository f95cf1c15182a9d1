// podseed's in-page player: player.html?infohash=<40 hex digits>, embedded
// in each episode page by templates/player.html. It downloads the episode's
// torrent (../torrents/<infohash>.torrent, same origin) with WebTorrent, from podseed's own client over
// WebRTC (signalled through podseed's WebSocket tracker, listed in the
// .torrent), from the original enclosure as web seed (BEP 19; the origin
// must allow CORS, which most podcast hosts do not) and from podseed's own
// CORS web seed endpoint, ../webseed/<infohash>/<name>, always added as a
// second web seed: the origin may lack CORS or be down, and WebRTC may be
// blocked on the listener's network, so podseed's copy over plain HTTP is
// the source that always works. (It is not in the .torrent's url-list; see
// docs/clients.md.) It shows live peers and progress, and plays the
// file: while it downloads where the browser allows service workers
// (streamingServer), else once every piece has been checked. It starts when
// the listener presses its button.
//
// State for tests and curious readers: window.podseedPlayer.
import WebTorrent from './vendor/webtorrent.min.js'

// WebTorrent hashes pieces with crypto.subtle, which browsers expose only
// in secure contexts (https, localhost). podseed is often reached over
// plain http on a LAN, so SHA-1 (all a v1 torrent needs) falls back to
// this implementation there.
function sha1 (data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer || data, data.byteOffset || 0, data.byteLength)
  const bitLen = bytes.length * 8
  const padded = new Uint8Array(((bytes.length + 9 + 63) >> 6) << 6)
  padded.set(bytes)
  padded[bytes.length] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, Math.floor(bitLen / 0x100000000))
  view.setUint32(padded.length - 4, bitLen >>> 0)
  let h0 = 0x67452301; let h1 = 0xefcdab89; let h2 = 0x98badcfe; let h3 = 0x10325476; let h4 = 0xc3d2e1f0
  const w = new Uint32Array(80)
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4)
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
      w[i] = (x << 1) | (x >>> 31)
    }
    let a = h0; let b = h1; let c = h2; let d = h3; let e = h4
    for (let i = 0; i < 80; i++) {
      let f, k
      if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999 } else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1 } else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc } else { f = b ^ c ^ d; k = 0xca62c1d6 }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) >>> 0
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t
    }
    h0 = (h0 + a) >>> 0; h1 = (h1 + b) >>> 0; h2 = (h2 + c) >>> 0; h3 = (h3 + d) >>> 0; h4 = (h4 + e) >>> 0
  }
  const out = new DataView(new ArrayBuffer(20))
  ;[h0, h1, h2, h3, h4].forEach((h, i) => out.setUint32(i * 4, h))
  return out.buffer
}

if (!globalThis.crypto.subtle) {
  Object.defineProperty(globalThis.crypto, 'subtle', {
    value: {
      digest: async (alg, data) => {
        const name = (typeof alg === 'string' ? alg : alg.name).toUpperCase()
        if (name !== 'SHA-1') throw new Error(`digest ${name} needs a secure context (https)`)
        return sha1(data)
      }
    }
  })
}

const root = document.getElementById('player')
const audio = root.querySelector('audio')
const statusEl = root.querySelector('[data-player-status]')
const peersEl = root.querySelector('[data-player-peers]')

// state is what the page shows, also read by podseed's browser test.
// streaming: the <audio> element plays through WebTorrent's service worker
// while downloading (else it plays the file once done).
const state = { client: null, torrent: null, progress: 0, done: false, streaming: false, playing: false, error: '', wires: [] }
window.podseedPlayer = state

// clientName names a peer by its BEP 20 peer ID prefix.
function clientName (peerIdHex) {
  let ascii = ''
  for (let i = 0; i < 16 && i + 2 <= (peerIdHex || '').length; i += 2) ascii += String.fromCharCode(parseInt(peerIdHex.slice(i, i + 2), 16))
  if (ascii.startsWith('-GT')) return 'podseed (anacrolix/torrent)'
  if (ascii.startsWith('-WW')) return 'WebTorrent'
  return /^-[A-Za-z0-9]{6}-$/.test(ascii) ? ascii : 'unknown'
}

// podseedWebSeed is the URL of podseed's own copy of the torrent's file,
// set once the torrent's metadata is known. webSeeds maps a web seed
// wire's peer ID (WebTorrent uses the SHA-1 of the URL, in hex) to its URL.
let podseedWebSeed = ''
const webSeeds = new Map()

function webSeedId (url) {
  return Array.from(new Uint8Array(sha1(new TextEncoder().encode(url))), b => b.toString(16).padStart(2, '0')).join('')
}

// wireName names a wire: a peer by its client, a web seed by whose it is.
function wireName (w) {
  if (w.type !== 'webSeed') return clientName(w.peerId)
  return webSeeds.get(w.peerId) === podseedWebSeed ? 'podseed web seed' : 'web seed'
}

function bytes (n) {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB']
  let i = -1
  do { n /= 1024; i++ } while (n >= 1024 && i < units.length - 1)
  return `${n.toFixed(1)} ${units[i]}`
}

function fail (err) {
  state.error = String(err && err.message ? err.message : err)
  render()
}

function render () {
  const t = state.torrent
  if (state.error) {
    statusEl.textContent = `Error: ${state.error}`
    return
  }
  if (!t || !t.length) {
    statusEl.textContent = 'Fetching the torrent…'
    return
  }
  state.progress = t.progress
  state.wires = t.wires.map(w => ({
    type: w.type, peerId: w.peerId, url: w.type === 'webSeed' ? (webSeeds.get(w.peerId) || '') : '', client: wireName(w), downloaded: w.downloaded
  }))
  const rate = state.done ? '' : ` · ${bytes(t.downloadSpeed)}/s`
  const via = (state.playing ? ' · playing' : (state.done ? ' · ready to play' : '')) + (state.streaming ? ' (streaming)' : '')
  // WebTorrent's numPeers counts web seeds too: say peers and web seeds apart.
  const seeds = state.wires.filter(w => w.type === 'webSeed').length
  const peers = state.wires.length - seeds
  const sources = `${peers} ${peers === 1 ? 'peer' : 'peers'}` + (seeds ? ` + ${seeds} ${seeds === 1 ? 'web seed' : 'web seeds'}` : '')
  statusEl.textContent = `${(t.progress * 100).toFixed(1)} % of ${bytes(t.length)} · ${sources}${rate}${via}`
  peersEl.replaceChildren(...state.wires.map(w => {
    const li = document.createElement('li')
    li.textContent = `${w.client} (${w.type === 'webSeed' ? 'HTTP' : w.type}): ${bytes(w.downloaded)} received`
    return li
  }))
}

// streamingServer registers WebTorrent's service worker, which serves
// /static/webtorrent/<infohash>/<file> from the torrent as pieces arrive, so
// the <audio> element plays while downloading. Browsers allow service
// workers in secure contexts only (https, localhost); elsewhere, or if
// anything fails, it returns null and the player plays the file once
// complete.
async function streamingServer (client) {
  if (!window.isSecureContext || !('serviceWorker' in navigator)) return null
  const sw = navigator.serviceWorker
  const ready = (async () => {
    const reg = await sw.register('vendor/sw.min.js', { scope: './' })
    const worker = reg.active || reg.waiting || reg.installing
    if (worker.state !== 'activated') {
      await new Promise((resolve, reject) => worker.addEventListener('statechange', () => {
        if (worker.state === 'activated') resolve()
        if (worker.state === 'redundant') reject(new Error('service worker not installed'))
      }))
    }
    // The worker claims this page once active; media requests go through
    // it only from then on.
    if (!sw.controller) await new Promise(resolve => sw.addEventListener('controllerchange', resolve, { once: true }))
    return client.createServer({ controller: reg })
  })()
  const timeout = new Promise((resolve, reject) => setTimeout(() => reject(new Error('service worker: timed out')), 10000))
  try {
    return await Promise.race([ready, timeout])
  } catch (err) {
    console.warn('podseed player: playing once downloaded:', err)
    return null
  }
}

async function start () {
  const client = new WebTorrent()
  state.client = client
  client.on('error', fail)
  audio.addEventListener('playing', () => { state.playing = true; render() })
  setInterval(render, 500)
  render()
  const server = await streamingServer(client)
  state.streaming = server !== null
  const ih = new URLSearchParams(location.search).get('infohash') || ''
  if (!/^[0-9a-f]{40}$/.test(ih)) throw new Error('no infohash in the player URL')
  const torrent = client.add(new URL(`../torrents/${ih}.torrent`, location.href).href)
  state.torrent = torrent
  torrent.on('error', fail)
  const addPodseedWebSeed = () => {
    // A single-file torrent's web seed URL names the file itself (BEP 19).
    podseedWebSeed = new URL(`../webseed/${ih}/${encodeURIComponent(torrent.name)}`, location.href).href
    for (const url of [...(torrent.urlList || []), podseedWebSeed]) webSeeds.set(webSeedId(url), url)
    torrent.addWebSeed(podseedWebSeed)
  }
  if (torrent.metadata) addPodseedWebSeed()
  else torrent.once('metadata', addPodseedWebSeed)
  if (server) {
    torrent.on('ready', () => {
      torrent.files[0].streamTo(audio)
      audio.play().catch(err => { if (err.name !== 'NotAllowedError') fail(err) })
    })
  }
  torrent.on('done', async () => {
    state.done = true
    render()
    if (server) return
    try {
      const blob = await torrent.files[0].blob()
      audio.src = URL.createObjectURL(blob)
      await audio.play()
    } catch (err) {
      // Autoplay refused without a user gesture: the controls remain.
      if (err && err.name !== 'NotAllowedError') fail(err)
    }
  })
}

// Nothing is downloaded until the listener asks: the page may be viewed
// for its swarm statistics alone.
const button = root.querySelector('[data-player-start]')
button.addEventListener('click', () => {
  button.disabled = true
  start().catch(fail)
}, { once: true })
