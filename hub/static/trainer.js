/*
 * kefu trainer console. Talks to /trainer/api/* (JSON, session cookie). Tabs: FAQs (list, search, edit,
 * history, rollback), "Try it", the unanswered inbox, intents (NLU examples), training and models, report.
 * Everything customers wrote is set with textContent, never parsed as markup.
 */
(function () {
  "use strict";

  var INDEX_POLL_RUNNING_MS = 1000;
  var INDEX_POLL_IDLE_MS = 10000;
  var TRAINING_POLL_MS = 1000;
  var REPORT_POLL_MS = 2000;
  var DECISIONS = { answer: "直接回答", clarify: "澄清（给出候选问题）", no_answer: "无答案（兜底 / 转人工）" };
  var OUTCOMES = { clarify: "澄清", no_answer: "无答案", fallback: "兜底", handoff: "转人工" };
  var RUN_STATUS = {
    training: "训练中", evaluating: "评测中", activated: "已上线", refused: "未上线（评测不通过）",
    trained: "已训练（未上线）", failed: "失败",
  };
  var ACTIONS = { create: "新建", update: "修改", "delete": "删除", restore: "回滚" };
  var PHASES = { loading: "加载模型", embedding: "向量化", publishing: "发布", swapping: "切换" };

  var $ = function (id) { return document.getElementById(id); };
  var state = {
    faqs: [], allFaqs: [], categories: [], selected: null, creating: false,
    indexState: null, indexTimer: null, runId: null, logOffset: 0, trainingTimer: null, reportTimer: null,
    intent: null,
  };

  // -- helpers ------------------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    }).then(function (response) {
      if (response.status === 401) { location.href = "/agent/login"; throw new Error("请重新登录"); }
      return response.json().then(function (data) {
        if (!response.ok) {
          var error = new Error((data.error && data.error.message) || ("HTTP " + response.status));
          error.data = data.error || {};
          throw error;
        }
        return data;
      });
    });
  }

  function lines(text) {
    return text.split("\n").map(function (l) { return l.trim(); }).filter(function (l) { return l; });
  }

  function time(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return d.toLocaleString("zh-CN", { hour12: false });
  }

  function percent(value) { return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%"; }

  var FIELD_INPUTS = { id: "faq-id", question: "faq-question", paraphrases: "faq-paraphrases", answer: "faq-answer", buttons: "faq-buttons", category: "faq-form-category" };
  var FIELD_NAMES = { id: "ID", question: "标准问题", paraphrases: "相似问法", answer: "答案", buttons: "按钮", updated: "更新日期" };

  function fieldLabel(field) {
    if (!field) return "";
    var match = /^(\w+)(?:\[(\d+)\])?$/.exec(field);
    if (!match) return field;
    var name = FIELD_NAMES[match[1]] || match[1];
    return match[2] !== undefined ? name + " 第 " + (Number(match[2]) + 1) + " 条" : name;
  }

  function showProblems(list, error, fieldInputs) {
    clear(list);
    Object.keys(fieldInputs || {}).forEach(function (key) { var input = $(fieldInputs[key]); if (input) input.removeAttribute("aria-invalid"); });
    var problems = (error && error.data && error.data.problems) || [];
    if (!problems.length) { list.appendChild(el("li", { text: error ? error.message : "" })); return; }
    list.appendChild(el("li", { text: error.message }));
    problems.forEach(function (p) {
      var where = "文件 " + p.file + (p.line ? " 第 " + p.line + " 行" : "") + (p.field ? "（" + fieldLabel(p.field) + "）" : "");
      list.appendChild(el("li", { text: where + "：" + p.reason }));
      var key = p.field ? p.field.replace(/\[.*$/, "") : null;
      if (key && fieldInputs && fieldInputs[key]) $(fieldInputs[key]).setAttribute("aria-invalid", "true");
    });
  }

  // -- tabs ---------------------------------------------------------------------------------------------

  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  var onShow = {
    "tab-faqs": function () { loadFaqs(); },
    "tab-inbox": function () { loadInbox(); },
    "tab-intents": function () { loadIntents(); },
    "tab-training": function () { loadTraining(); loadModels(); },
    "tab-report": function () { loadReport(); },
  };

  function selectTab(tab) {
    tabs.forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    });
    if (onShow[tab.id]) onShow[tab.id]();
  }

  tabs.forEach(function (tab, index) {
    tab.addEventListener("click", function () { selectTab(tab); });
    tab.addEventListener("keydown", function (event) {
      var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      var next = tabs[(index + step + tabs.length) % tabs.length];
      next.focus();
      selectTab(next);
    });
  });

  // -- index status -------------------------------------------------------------------------------------

  function renderIndex(index) {
    var node = $("index-status");
    var previous = state.indexState;
    state.indexState = index.state;
    node.className = "index-status " + index.state;
    var version = index.version ? "版本 " + index.version.slice(0, 15) : "未加载";
    if (index.state === "running") {
      var phase = PHASES[index.phase] || index.phase || "";
      var counts = index.total ? " " + index.done + "/" + index.total : "";
      node.textContent = "索引重建中：" + phase + counts + (index.pending ? "（之后还会再重建一次）" : "");
    } else if (index.state === "failed") {
      node.textContent = "索引重建失败：" + (index.error || "") + "（仍使用" + version + "）";
    } else if (index.state === "done") {
      node.textContent = "索引已更新（" + version + "）";
    } else {
      node.textContent = "索引" + (index.version ? "：" + version : "：尚未建立");
    }
    if (previous === "running" && index.state !== "running") loadFaqs();
    clearTimeout(state.indexTimer);
    state.indexTimer = setTimeout(pollIndex, index.state === "running" ? INDEX_POLL_RUNNING_MS : INDEX_POLL_IDLE_MS);
  }

  function pollIndex() {
    api("GET", "/trainer/api/index").then(function (data) { renderIndex(data.index); }).catch(function () {
      state.indexTimer = setTimeout(pollIndex, INDEX_POLL_IDLE_MS);
    });
  }

  function rebuildStarted(result) {
    if (result && result.rebuild) renderIndex(result.rebuild);
  }

  // -- FAQs ---------------------------------------------------------------------------------------------

  function loadFaqs() {
    var query = $("faq-search").value.trim();
    var category = $("faq-category").value;
    var url = "/trainer/api/faqs?q=" + encodeURIComponent(query) + "&category=" + encodeURIComponent(category);
    return api("GET", url).then(function (data) {
      state.faqs = data.faqs;
      state.categories = data.categories;
      if (!query && !category) state.allFaqs = data.faqs;
      renderCategories();
      renderFaqList();
      $("faq-count").textContent = "共 " + data.total + " 个 FAQ，显示 " + data.faqs.length + " 个";
    }).catch(function (error) { $("faq-count").textContent = error.message; });
  }

  function loadAllFaqs() {
    return api("GET", "/trainer/api/faqs").then(function (data) { state.allFaqs = data.faqs; state.categories = data.categories; return data.faqs; });
  }

  function renderCategories() {
    [["faq-category", true], ["faq-form-category", false]].forEach(function (pair) {
      var select = $(pair[0]);
      var current = select.value;
      clear(select);
      if (pair[1]) select.appendChild(el("option", { value: "", text: "全部分类" }));
      state.categories.forEach(function (c) {
        select.appendChild(el("option", { value: c.name, text: c.name + "（" + c.count + "）" }));
      });
      if (!pair[1]) select.appendChild(el("option", { value: "__new__", text: "新分类…" }));
      select.value = current;
      if (select.value !== current) select.value = pair[1] ? "" : ($("faq-category").value || (state.categories[0] && state.categories[0].name) || "");
    });
    if (state.selected) $("faq-form-category").value = state.selected.category;
  }

  function renderFaqList() {
    var list = $("faq-list");
    clear(list);
    state.faqs.forEach(function (faq) {
      var selected = state.selected && state.selected.id === faq.id;
      list.appendChild(el("li", { className: selected ? "selected" : "" }, [
        el("button", { type: "button", "aria-label": faq.id + " " + faq.question, onclick: function () { selectFaq(faq.id); } }, [
          el("div", { className: "preview", text: faq.question }),
          el("div", { className: "meta", text: faq.id + " · " + faq.category + " · " + faq.paraphrase_count + " 个相似问法 · 更新于 " + faq.updated }),
        ]),
      ]));
    });
  }

  function fillForm(faq) {
    $("faq-id").value = faq ? faq.id : "";
    $("faq-id").readOnly = !!faq;
    $("faq-form-category").value = faq ? faq.category : ($("faq-category").value || (state.categories[0] && state.categories[0].name) || "");
    $("faq-question").value = faq ? faq.question : "";
    $("faq-paraphrases").value = faq ? faq.paraphrases.join("\n") : "";
    $("faq-answer").value = faq ? faq.answer : "";
    $("faq-buttons").value = faq ? faq.buttons.map(function (b) { return b.title + " | " + (b.faq ? "faq:" + b.faq : "intent:" + b.intent); }).join("\n") : "";
    $("new-category").hidden = true;
    $("faq-delete").hidden = !faq;
    $("faq-form-title").textContent = faq ? "编辑 " + faq.id + "（" + faq.file + " 第 " + faq.line + " 行）" : "新建 FAQ";
    clear($("faq-errors"));
    $("faq-saved").textContent = "";
    Object.keys(FIELD_INPUTS).forEach(function (key) { $(FIELD_INPUTS[key]).removeAttribute("aria-invalid"); });
  }

  function selectFaq(id) {
    return api("GET", "/trainer/api/faqs/" + encodeURIComponent(id)).then(function (data) {
      state.selected = data.faq;
      state.creating = false;
      fillForm(data.faq);
      renderFaqList();
      loadHistory(id);
    });
  }

  function newFaq() {
    state.selected = null;
    state.creating = true;
    fillForm(null);
    renderFaqList();
    suggestId();
    loadHistory(null);
    $("faq-question").focus();
  }

  function suggestId() {
    if (!state.creating) return;
    var category = $("faq-form-category").value;
    if (!category || category === "__new__") return;
    api("GET", "/trainer/api/suggest-id?category=" + encodeURIComponent(category)).then(function (data) {
      if (state.creating && data.id) $("faq-id").placeholder = "留空则使用 " + data.id;
    });
  }

  function parseButtons(text) {
    return lines(text).map(function (line) {
      var parts = line.split("|");
      var title = (parts[0] || "").trim();
      var target = (parts.slice(1).join("|") || "").trim();
      if (target.indexOf("faq:") === 0) return { title: title, faq: target.slice(4).trim() };
      if (target.indexOf("intent:") === 0) return { title: title, intent: target.slice(7).trim() };
      return { title: title, intent: target };
    });
  }

  function formBody() {
    var category = $("faq-form-category").value;
    var body = {
      id: $("faq-id").value.trim(),
      category: category === "__new__" ? $("faq-new-category").value.trim() : category,
      question: $("faq-question").value,
      paraphrases: lines($("faq-paraphrases").value),
      answer: $("faq-answer").value,
      buttons: parseButtons($("faq-buttons").value),
    };
    if (category === "__new__") body.new_file = $("faq-new-file").value.trim();
    if (state.selected) body.version = state.selected.version;
    return body;
  }

  function saveFaq(event) {
    event.preventDefault();
    var body = formBody();
    var request = state.selected
      ? api("PUT", "/trainer/api/faqs/" + encodeURIComponent(state.selected.id), body)
      : api("POST", "/trainer/api/faqs", body);
    $("faq-save").disabled = true;
    request.then(function (result) {
      rebuildStarted(result);
      state.selected = result.faq;
      state.creating = false;
      fillForm(result.faq);
      $("faq-saved").textContent = "已保存到 " + result.faq.file + "，索引正在重建，完成后客户即可获得新答案。";
      loadFaqs();
      loadHistory(result.faq.id);
    }).catch(function (error) {
      showProblems($("faq-errors"), error, FIELD_INPUTS);
    }).then(function () { $("faq-save").disabled = false; });
  }

  function deleteFaq() {
    if (!state.selected) return;
    if (!window.confirm("确定删除 " + state.selected.id + "「" + state.selected.question + "」？可在修改记录中回滚。")) return;
    var id = state.selected.id;
    api("DELETE", "/trainer/api/faqs/" + encodeURIComponent(id), { version: state.selected.version }).then(function (result) {
      rebuildStarted(result);
      state.selected = null;
      fillForm(null);
      $("faq-form-title").textContent = "已删除 " + id;
      loadFaqs();
      loadHistory(id);
    }).catch(function (error) { showProblems($("faq-errors"), error, FIELD_INPUTS); });
  }

  function diffNode(diff) {
    var pre = el("pre", {});
    diff.split("\n").forEach(function (line) {
      var cls = line.charAt(0) === "+" && line.slice(0, 3) !== "+++" ? "diff-add" : line.charAt(0) === "-" && line.slice(0, 3) !== "---" ? "diff-del" : "";
      pre.appendChild(el("span", { className: cls, text: line + "\n" }));
    });
    return pre;
  }

  function loadHistory(faqId) {
    var url = "/trainer/api/history" + (faqId ? "?faq_id=" + encodeURIComponent(faqId) : "");
    return api("GET", url).then(function (data) {
      var list = $("history");
      clear(list);
      if (!data.changes.length) list.appendChild(el("li", { className: "muted", text: "暂无修改记录" }));
      data.changes.forEach(function (change) {
        var label = "#" + change.id + " " + time(change.created_at) + " " + change.agent_id + " " + (ACTIONS[change.action] || change.action) + " " + change.faq_id + (change.reverts ? "（回滚 #" + change.reverts + "）" : "");
        list.appendChild(el("li", {}, [
          el("div", { text: label }),
          el("div", { className: "meta", text: change.question }),
          el("details", {}, [el("summary", { text: "查看差异" }), diffNode(change.diff)]),
          el("button", { type: "button", className: "link", text: "回滚此修改", "aria-label": "回滚修改 #" + change.id, onclick: function () { rollback(change); } }),
        ]));
      });
    });
  }

  function rollback(change) {
    if (!window.confirm("把 " + change.faq_id + " 恢复到修改 #" + change.id + " 之前的状态？")) return;
    api("POST", "/trainer/api/history/" + change.id + "/rollback").then(function (result) {
      rebuildStarted(result);
      $("faq-saved").textContent = "已回滚修改 #" + change.id + "，索引正在重建。";
      loadFaqs();
      if (result.faq) selectFaq(result.faq.id); else loadHistory(change.faq_id);
    }).catch(function (error) { showProblems($("faq-errors"), error, FIELD_INPUTS); });
  }

  var searchTimer = null;
  $("faq-search").addEventListener("input", function () { clearTimeout(searchTimer); searchTimer = setTimeout(loadFaqs, 250); });
  $("faq-category").addEventListener("change", loadFaqs);
  $("faq-new").addEventListener("click", newFaq);
  $("faq-form").addEventListener("submit", saveFaq);
  $("faq-delete").addEventListener("click", deleteFaq);
  $("faq-form-category").addEventListener("change", function () {
    $("new-category").hidden = $("faq-form-category").value !== "__new__";
    suggestId();
  });

  // -- Try it -------------------------------------------------------------------------------------------

  $("try-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var question = $("try-question").value.trim();
    if (!question) return;
    $("try-error").textContent = "";
    api("POST", "/trainer/api/try", { question: question }).then(function (result) {
      $("try-result").hidden = false;
      var decision = $("try-decision");
      decision.textContent = DECISIONS[result.decision] || result.decision;
      decision.className = "decision-" + result.decision;
      var t = result.thresholds;
      $("try-thresholds").textContent = "阈值：回答 ≥ " + t.answer + "，领先 ≥ " + t.margin + "，澄清 ≥ " + t.clarify;
      $("try-answer").textContent = result.answer ? "答案（" + result.answer_faq_id + "）：" + result.answer : "";
      var body = $("try-candidates");
      clear(body);
      result.candidates.forEach(function (c, index) {
        body.appendChild(el("tr", { className: c.chosen ? "chosen" : "" }, [
          el("td", { text: String(index + 1) }),
          el("td", { text: c.faq_id }),
          el("td", { text: c.question }),
          el("td", { text: c.category }),
          el("td", {}, [el("div", { className: "score" }, [
            el("span", { className: "score-bar", style: "width:" + Math.max(2, Math.round(c.score * 120)) + "px" }),
            el("span", { text: c.score.toFixed(3) }),
          ])]),
        ]));
      });
    }).catch(function (error) { $("try-error").textContent = error.message; });
  });

  // -- unanswered inbox ---------------------------------------------------------------------------------

  function loadInbox() {
    $("inbox-summary").textContent = "正在分组…";
    $("inbox-error").textContent = "";
    return Promise.all([api("GET", "/trainer/api/unanswered"), loadAllFaqs()]).then(function (results) {
      var data = results[0];
      var container = $("inbox-groups");
      clear(container);
      $("inbox-summary").textContent = data.total + " 个未解答问题，" + data.groups.length + " 组" + (data.grouping === "text" ? "（模型不可用，按原文分组）" : "（按语义分组）");
      if (!data.groups.length) container.appendChild(el("p", { className: "muted", text: "没有待处理的问题。" }));
      data.groups.forEach(function (group) { container.appendChild(groupNode(group)); });
    }).catch(function (error) { $("inbox-summary").textContent = ""; $("inbox-error").textContent = error.message; });
  }

  function faqSelect(id, selected) {
    var select = el("select", { id: id });
    state.allFaqs.forEach(function (faq) {
      select.appendChild(el("option", { value: faq.id, text: faq.id + " · " + faq.question }));
    });
    if (selected) select.value = selected;
    return select;
  }

  function groupNode(group) {
    var first = group.examples[0].text;
    var suggestion = group.suggestion;
    var selectId = "attach-" + group.id;
    var status = el("p", { className: "saved", role: "status" });
    var errors = el("ul", { className: "errors", role: "alert" });
    var node = el("article", { className: "group", "aria-label": "问题组：" + first }, [
      el("h3", {}, [el("span", { className: "count", text: String(group.count) }), document.createTextNode(first)]),
      el("ul", {}, group.examples.map(function (e) { return el("li", { text: e.text + (e.count > 1 ? " ×" + e.count : "") }); })),
      el("p", { className: "tags" }, Object.keys(group.outcomes).map(function (o) { return el("span", { text: (OUTCOMES[o] || o) + " " + group.outcomes[o] }); })),
      suggestion ? el("p", { className: "muted", text: "最接近的 FAQ：" + suggestion.faq_id + " " + suggestion.question + (suggestion.score ? "（相似度 " + suggestion.score.toFixed(3) + "）" : "") }) : null,
    ]);
    var select = faqSelect(selectId, suggestion && suggestion.faq_id);
    var resolve = el("div", { className: "resolve" }, [
      el("label", { for: selectId, text: "添加到 FAQ" }), select,
      el("button", { type: "button", className: "primary", text: "添加为相似问法", onclick: function () {
        api("POST", "/trainer/api/unanswered/attach", { ids: group.ids, faq_id: select.value }).then(function (result) {
          rebuildStarted(result);
          status.textContent = "已把 " + group.count + " 个问题添加到 " + select.value + "，索引正在重建。";
          setTimeout(loadInbox, 1500);
        }).catch(function (error) { showProblems(errors, error); });
      } }),
      el("button", { type: "button", text: "新建 FAQ…", onclick: function () { node.appendChild(createForm(group, status, errors)); } }),
      el("button", { type: "button", text: "忽略", onclick: function () {
        api("POST", "/trainer/api/unanswered/dismiss", { ids: group.ids }).then(loadInbox).catch(function (error) { showProblems(errors, error); });
      } }),
    ]);
    node.appendChild(resolve);
    node.appendChild(errors);
    node.appendChild(status);
    return node;
  }

  function createForm(group, status, errors) {
    var prefix = "new-" + group.id + "-";
    var category = el("select", { id: prefix + "category" });
    state.categories.forEach(function (c) { category.appendChild(el("option", { value: c.name, text: c.name })); });
    var texts = group.examples.map(function (e) { return e.text; });
    var question = el("input", { id: prefix + "question", value: texts[0] });
    var paraphrases = el("textarea", { id: prefix + "paraphrases", rows: 4 });
    paraphrases.value = texts.slice(1).join("\n");
    var answer = el("textarea", { id: prefix + "answer", rows: 4 });
    var faqId = el("input", { id: prefix + "id", placeholder: "留空自动编号" });
    var form = el("form", { "aria-label": "从问题组新建 FAQ" }, [
      el("label", { for: prefix + "category", text: "所属分类" }), category,
      el("label", { for: prefix + "id", text: "ID" }), faqId,
      el("label", { for: prefix + "question", text: "标准问题" }), question,
      el("label", { for: prefix + "paraphrases", text: "相似问法（每行一条）" }), paraphrases,
      el("label", { for: prefix + "answer", text: "答案" }), answer,
      el("div", { className: "actions" }, [el("button", { type: "submit", className: "primary", text: "创建 FAQ" })]),
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var faq = { id: faqId.value.trim(), category: category.value, question: question.value, paraphrases: lines(paraphrases.value), answer: answer.value };
      api("POST", "/trainer/api/unanswered/create", { ids: group.ids, faq: faq }).then(function (result) {
        rebuildStarted(result);
        status.textContent = "已新建 " + result.faq.id + "，索引正在重建。";
        form.remove();
        setTimeout(loadInbox, 1500);
      }).catch(function (error) { showProblems(errors, error); });
    });
    return form;
  }

  $("inbox-refresh").addEventListener("click", loadInbox);

  // -- intents ------------------------------------------------------------------------------------------

  function loadIntents() {
    return api("GET", "/trainer/api/intents").then(function (data) {
      var list = $("intent-list");
      clear(list);
      data.intents.forEach(function (intent) {
        list.appendChild(el("li", { className: state.intent === intent.name ? "selected" : "" }, [
          el("button", { type: "button", disabled: !intent.file, onclick: function () { selectIntent(intent.name); } }, [
            el("span", { text: intent.name }), el("span", { className: "meta", text: intent.file ? String(intent.count) : "无样例" }),
          ]),
        ]));
      });
    });
  }

  function selectIntent(name) {
    return api("GET", "/trainer/api/intents/" + encodeURIComponent(name)).then(function (data) {
      state.intent = name;
      $("intent-title").textContent = "意图 " + name;
      $("intent-file").textContent = "bot/data/nlu/" + data.intent.file + "，" + data.intent.examples.length + " 条样例";
      $("intent-examples").value = data.intent.examples.join("\n");
      $("intent-examples").disabled = false;
      $("intent-save").disabled = false;
      clear($("intent-errors"));
      $("intent-saved").textContent = "";
      loadIntents();
    });
  }

  $("intent-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!state.intent) return;
    var examples = lines($("intent-examples").value);
    api("PUT", "/trainer/api/intents/" + encodeURIComponent(state.intent), { examples: examples }).then(function (data) {
      clear($("intent-errors"));
      $("intent-examples").removeAttribute("aria-invalid");
      $("intent-saved").textContent = "已保存 " + data.intent.examples.length + " 条样例到 " + data.intent.file + "，重新训练模型后生效。";
      loadIntents();
    }).catch(function (error) {
      showProblems($("intent-errors"), error);
      $("intent-examples").setAttribute("aria-invalid", "true");
    });
  });

  // -- training and models ------------------------------------------------------------------------------

  function loadTraining() {
    return api("GET", "/trainer/api/training").then(function (data) {
      renderRuns(data.runs);
      var run = data.current || data.runs[0];
      if (run) showRun(run, !!data.current);
    });
  }

  function renderRuns(runs) {
    var body = $("runs");
    clear(body);
    runs.forEach(function (run) {
      var f1 = run.evaluation ? run.evaluation.macro_f1.toFixed(3) : "—";
      if (run.baseline) f1 += "（线上 " + run.baseline.macro_f1.toFixed(3) + "）";
      body.appendChild(el("tr", {}, [
        el("td", { text: String(run.id) }),
        el("td", { text: RUN_STATUS[run.status] || run.status }),
        el("td", { text: time(run.started_at) }),
        el("td", { text: f1 }),
        el("td", { text: run.message }),
        el("td", {}, [el("button", { type: "button", className: "link", text: "查看日志", onclick: function () { showRun(run, !run.finished_at); } })]),
      ]));
    });
  }

  function showRun(run, live) {
    $("run").hidden = false;
    if (state.runId !== run.id) { state.runId = run.id; state.logOffset = 0; $("run-log").textContent = ""; }
    renderRun(run);
    clearTimeout(state.trainingTimer);
    pollLog(live);
  }

  function renderRun(run) {
    $("run-status").textContent = "训练 #" + run.id + "：" + (RUN_STATUS[run.status] || run.status);
    var message = $("run-message");
    message.textContent = run.message || "";
    message.className = "run-message " + run.status;
    var p = run.progress;
    var value = 0;
    var current = "";
    if (p) {
      if (p.phase === "training" && p.epochs) { value = 100 * p.epoch / p.epochs; current = (p.component || "") + " 第 " + p.epoch + "/" + p.epochs + " 轮"; }
      else if (p.phase === "training") current = p.component ? "正在训练 " + p.component : "正在准备训练数据…";
      else if (p.phase === "evaluating") { value = p.to_evaluate ? 100 * p.evaluated / p.to_evaluate : 0; current = "评测中：意图样例 " + p.evaluated + "/" + p.to_evaluate; }
      else if (p.phase === "activating") { value = 100; current = "正在上线新模型…"; }
    } else if (run.finished_at) value = 100;
    $("run-progress").value = value;
    $("run-current").textContent = current || (p && p.current_line) || "";
  }

  function pollLog(live) {
    var id = state.runId;
    api("GET", "/trainer/api/training/" + id + "/log?offset=" + state.logOffset).then(function (data) {
      if (id !== state.runId) return;
      if (data.text) {
        var log = $("run-log");
        var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 20;
        log.appendChild(document.createTextNode(data.text));
        if (atBottom) log.scrollTop = log.scrollHeight;
      }
      state.logOffset = data.next_offset;
      if (!data.done || data.text) {
        return api("GET", "/trainer/api/training/" + id).then(function (result) {
          renderRun(result.run);
          if (!result.run.finished_at || data.text) state.trainingTimer = setTimeout(function () { pollLog(true); }, TRAINING_POLL_MS);
          else { loadTraining(); loadModels(); }
        });
      }
      if (live) { loadTraining(); loadModels(); }
    }).catch(function (error) { $("train-error").textContent = error.message; });
  }

  $("train-start").addEventListener("click", function () {
    $("train-error").textContent = "";
    api("POST", "/trainer/api/training").then(function (data) {
      showRun(data.run, true);
    }).catch(function (error) { $("train-error").textContent = error.message; });
  });

  function loadModels() {
    return api("GET", "/trainer/api/models").then(function (data) {
      $("models-active").textContent = data.rasa_error ? "线上模型：未知（" + data.rasa_error + "）" : "线上模型：" + (data.active || "无");
      var body = $("models");
      clear(body);
      data.models.forEach(function (model) {
        var refused = model.run && model.run.status === "refused";
        var action = model.active ? el("span", { className: "badge-active", text: "线上" }) : el("button", {
          type: "button", text: "上线此模型", "aria-label": "上线 " + model.name, onclick: function () {
            var warning = refused ? "该模型评测未通过（" + model.run.message + "）。仍然上线？" : "上线 " + model.name + "？当前线上模型会被替换（可随时切回）。";
            if (!window.confirm(warning)) return;
            $("models-error").textContent = "正在加载模型到 Rasa…";
            api("POST", "/trainer/api/models/activate", { file: model.file }).then(function () {
              $("models-error").textContent = "";
              loadModels();
            }).catch(function (error) { $("models-error").textContent = error.message; });
          },
        });
        body.appendChild(el("tr", {}, [
          el("td", { text: model.name }),
          el("td", { text: model.location === "models" ? "模型目录" : (refused ? "候选（未通过）" : "候选") }),
          el("td", { text: time(model.modified_at) }),
          el("td", { text: model.macro_f1 === null ? "—" : model.macro_f1.toFixed(3) }),
          el("td", { text: model.stories ? model.stories.correct + "/" + model.stories.total : "—" }),
          el("td", {}, [action]),
        ]));
      });
    }).catch(function (error) { $("models-error").textContent = error.message; });
  }

  // -- report -------------------------------------------------------------------------------------------

  function loadReport() {
    clearTimeout(state.reportTimer);
    return api("GET", "/trainer/api/report").then(function (data) {
      var kb = data.knowledge_base;
      if (kb.state === "ready") {
        $("kb-metrics-status").textContent = kb.questions + " 个评测问题（" + kb.in_scope + " 个有答案），索引 " + kb.index_version.slice(0, 15) + "，计算于 " + time(kb.computed_at);
        window.KefuCharts.bars($("kb-metrics-chart"), [
          { label: "Top-1 准确率", value: kb.top1 },
          { label: "Recall@3", value: kb.recall_at_3 },
          { label: "拒答准确率", value: kb.abstain_precision },
          { label: "直接回答覆盖率", value: kb.coverage },
          { label: "错误回答率", value: kb.wrong_rate },
        ], { max: 1 });
      } else if (kb.state === "failed") {
        $("kb-metrics-status").textContent = "无法计算：" + kb.error;
      } else {
        $("kb-metrics-status").textContent = "正在计算（需要向量化全部评测问题）…";
        state.reportTimer = setTimeout(loadReport, REPORT_POLL_MS);
      }
      var intents = data.intents;
      if (intents) {
        $("intent-f1-status").textContent = "训练 #" + intents.run_id + "，macro-F1 " + intents.macro_f1.toFixed(3) + (intents.baseline_macro_f1 !== null ? "（浅色：线上模型 " + intents.baseline_macro_f1.toFixed(3) + "）" : "");
        var names = Object.keys(intents.intents).sort(function (a, b) { return intents.intents[a] - intents.intents[b]; });
        window.KefuCharts.bars($("intent-f1-chart"), names.map(function (name) {
          return { label: name, value: intents.intents[name], compare: intents.baseline_intents[name] };
        }), { max: 1, format: function (v) { return v.toFixed(2); } });
      } else {
        $("intent-f1-status").textContent = "还没有评测过的模型：在“模型训练”中训练一次。";
        clear($("intent-f1-chart"));
      }
      window.KefuCharts.line($("containment-chart"), data.containment.map(function (day) {
        return { label: day.date.slice(5), value: day.rate, note: day.contained + "/" + day.conversations + " 个会话" };
      }), { max: 1 });
    }).catch(function (error) { $("kb-metrics-status").textContent = error.message; });
  }

  $("report-refresh").addEventListener("click", loadReport);

  // -- start --------------------------------------------------------------------------------------------

  api("GET", "/trainer/api/me").then(function (data) {
    $("me").textContent = data.trainer.display_name;
    renderIndex(data.index);
  });
  loadFaqs();
  window.KefuTrainer = { state: state, loadInbox: loadInbox, percent: percent };
})();
