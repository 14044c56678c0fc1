-- Headless Neovim (0.7+): load the README's Kestrel snippet, open a file, run one code action
-- through vim.lsp.buf.code_action() and write what happened as JSON to $KESTREL_NVIM_RESULT.
-- Every wait is bounded, and the result is written even when a step fails.
--
-- $KESTREL_NVIM_CONFIG  the snippet to load     $KESTREL_NVIM_FILE    the file to open
-- $KESTREL_NVIM_ACTION  the action's title      $KESTREL_NVIM_EDIT    a line the user types
--                                                                     while the AI is working

local env = vim.env
local result = { notices = {}, statuses = {}, offered = {}, steps = {} }

local function step(name)
  table.insert(result.steps, name)
end

local function wait_for(what, timeout_ms, predicate)
  if not vim.wait(timeout_ms, predicate, 10) then
    error('timed out waiting for ' .. what)
  end
  step(what)
end

local function drive()
  vim.lsp.handlers['window/showMessage'] = function(_, params)
    table.insert(result.notices, { type = params.type, message = params.message })
  end
  vim.lsp.handlers['kestrel/status'] = function(_, params)
    table.insert(result.statuses, params.state)
  end
  local progress_begun = false
  vim.lsp.handlers['$/progress'] = function(_, params)
    if type(params.value) == 'table' and params.value.kind == 'begin' then
      progress_begun = true
    end
  end

  dofile(env.KESTREL_NVIM_CONFIG)
  vim.cmd('edit ' .. vim.fn.fnameescape(env.KESTREL_NVIM_FILE))

  local client = nil
  wait_for('the server to start', 20000, function()
    for _, c in pairs(vim.lsp.buf_get_clients(0)) do
      client = c
    end
    -- kestrel/status comes right after `initialized`.
    return client ~= nil and client.initialized and #result.statuses > 0
  end)

  local answered, nothing_chosen = false, false
  local request = client.request
  client.request = function(method, params, handler, bufnr)
    if method == 'codeAction/resolve' then
      local apply = handler
      handler = function(err, resolved, ...)
        result.resolve = {
          error = err and err.message or vim.NIL,
          has_edit = resolved ~= nil and resolved.edit ~= nil,
        }
        apply(err, resolved, ...)
        answered = true
      end
    end
    return request(method, params, handler, bufnr)
  end

  vim.ui.select = function(items, _, on_choice)
    local chosen = nil
    for _, item in ipairs(items) do
      table.insert(result.offered, item[2].title)
      if item[2].title == env.KESTREL_NVIM_ACTION then
        chosen = chosen or item
      end
    end
    nothing_chosen = chosen == nil
    on_choice(chosen)
  end

  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  vim.lsp.buf.code_action()

  if env.KESTREL_NVIM_EDIT and env.KESTREL_NVIM_EDIT ~= '' then
    wait_for('the action to start', 20000, function()
      return progress_begun
    end)
    vim.api.nvim_buf_set_lines(0, 0, 0, false, { env.KESTREL_NVIM_EDIT })
    -- A request flushes the pending didChange first: once answered, the server has the edit.
    client.request_sync('kestrel/ping', {}, 5000, 0)
    step('the user edited the buffer')
  end

  wait_for('the answer to codeAction/resolve', 30000, function()
    return answered or nothing_chosen
  end)
  if nothing_chosen then
    error('no action titled ' .. env.KESTREL_NVIM_ACTION .. ' was offered')
  end
end

local ok, err = pcall(drive)
if not ok then
  result.error = tostring(err)
end
result.lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
vim.fn.writefile({ vim.fn.json_encode(result) }, env.KESTREL_NVIM_RESULT)
vim.cmd('qall!')
