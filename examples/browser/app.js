// The page half of the browser example: no build step, no framework.
// 1. POST /token to this page's own backend, which mints a browser token with its tenant key.
// 2. POST the create straight to the gateway with `Authorization: Bearer <browser token>`.
// 3. Follow GET /v1/videos/{id}/events with EventSource; it cannot send headers, so the token
//    goes in ?access_token=. Each `status` event carries the task as GET /v1/videos/{id} shows it.

const $ = (id) => document.getElementById(id)
let source

function setState(state) {
  document.body.dataset.state = state
  $('status').textContent = state
}

function setProgress(progress) {
  const value = Math.max(0, Math.min(100, Number(progress) || 0))
  $('progress').value = value
  $('progress-text').textContent = `${value}%`
}

function log(line) {
  const item = document.createElement('li')
  item.textContent = `${new Date().toLocaleTimeString()} ${line}`
  $('log').append(item)
}

function showError(message, httpStatus) {
  $('error').textContent = message
  if (httpStatus !== undefined) $('error').dataset.httpStatus = String(httpStatus)
  log(`error: ${message}`)
}

function reset() {
  source?.close()
  source = undefined
  setState('idle')
  setProgress(0)
  $('error').textContent = ''
  delete $('error').dataset.httpStatus
  $('task-id').textContent = '–'
  $('video-url').textContent = '–'
  $('video').hidden = true
  $('video').removeAttribute('src')
  $('log').replaceChildren()
}

/** The envelope's message, for errors the gateway answers ({ code, msg, data: null, details }). */
const describe = (status, body) =>
  [`HTTP ${status}`, body?.code, body?.msg].filter((part) => part !== undefined && part !== '').join(' ')

async function createVideo() {
  reset()
  $('create').disabled = true
  try {
    setState('minting token')
    const minted = await fetch('/token', { method: 'POST' })
    const grant = await minted.json().catch(() => null)
    if (!minted.ok || !grant?.token) {
      throw Object.assign(new Error(`token: ${grant?.error ?? `HTTP ${minted.status}`}`), {
        httpStatus: minted.status,
      })
    }
    const { token, gateway_url: gateway } = grant

    setState('creating')
    let created
    try {
      created = await fetch(`${gateway}/v1/gemini/omni/videos`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gemini-omni', prompt: $('prompt').value, duration: 6 }),
      })
    } catch (err) {
      // A CORS refusal looks like a network error to the page: the browser hides the details.
      throw new Error(
        `the browser blocked the request to ${gateway} (${err.message}); is ${location.origin} in the tenant's cors_origins?`,
      )
    }
    const body = await created.json().catch(() => null)
    if (!created.ok || !body?.data?.task_id) {
      throw Object.assign(new Error(`create: ${describe(created.status, body)}`), {
        httpStatus: created.status,
      })
    }
    const taskId = body.data.task_id
    $('task-id').textContent = taskId
    log(`created ${taskId}`)
    follow(gateway, taskId, token)
  } catch (err) {
    setState('error')
    showError(err.message, err.httpStatus)
    $('create').disabled = false
  }
}

function follow(gateway, taskId, token) {
  const url = `${gateway}/v1/videos/${encodeURIComponent(taskId)}/events?access_token=${encodeURIComponent(token)}`
  source = new EventSource(url)
  const finish = () => {
    source.close()
    $('create').disabled = false
  }

  source.addEventListener('status', (event) => {
    const task = JSON.parse(event.data)
    setProgress(task.progress)
    log(`${task.status} ${task.progress ?? 0}%`)
    if (task.status === 'completed') {
      finish()
      setProgress(100)
      setState('completed')
      const videoUrl = task.result?.video_url
      if (videoUrl) {
        const link = document.createElement('a')
        link.href = videoUrl
        link.textContent = videoUrl
        $('video-url').replaceChildren(link)
        $('video').hidden = false
        $('video').src = videoUrl
      }
    } else if (task.status === 'failed') {
      finish()
      setState('failed')
      showError(task.error_message ?? 'the task failed')
    } else {
      setState(task.status)
    }
  })

  source.addEventListener('error', (event) => {
    if (event.data) {
      // The gateway's own `error` event: the upstream could not be asked this time; it goes on.
      const envelope = JSON.parse(event.data)
      log(`gateway: ${envelope.code} ${envelope.msg} (still following)`)
      return
    }
    if (source.readyState === EventSource.CLOSED) {
      // The stream was refused (401 expired token, 403 origin, 404 task): EventSource gives up.
      finish()
      setState('error')
      showError('the events stream was refused or lost; create again for a fresh token')
    } else {
      log('events stream interrupted, reconnecting…')
    }
  })

  // After EVENTS_MAX_LIFETIME_MS the gateway ends the stream; EventSource reconnects by itself.
  source.addEventListener('timeout', () => log('stream lifetime reached, reconnecting…'))
}

$('video').addEventListener('error', () => {
  if ($('video').getAttribute('src'))
    log('the video URL did not load in this browser (the simulator’s URLs never do)')
})
$('create').addEventListener('click', createVideo)
