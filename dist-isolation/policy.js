// Rendered from policy/ipc.json by coffer_core::ipc_policy (`coffer policy --js`).
// Do not edit: a test fails when this file and the policy differ.
var COFFER_POLICY = {
  "channelPattern": "^__CHANNEL__:[0-9]{1,10}$",
  "commands": {
    "audit_log": {
      "args": {
        "event": {
          "maxBytes": 32,
          "minBytes": 0,
          "pattern": "^[a-z_]*$",
          "type": "string"
        },
        "offset": {
          "max": 100000000,
          "min": 0,
          "type": "integer"
        }
      },
      "hookOnly": false
    },
    "cancel_import": {
      "args": {},
      "hookOnly": false
    },
    "change_passphrase": {
      "args": {
        "current": {
          "maxBytes": 1024,
          "minBytes": 1,
          "type": "string"
        },
        "next": {
          "maxBytes": 1024,
          "minBytes": 8,
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "create_vault": {
      "args": {
        "passphrase": {
          "maxBytes": 1024,
          "minBytes": 8,
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "delete_document": {
      "args": {
        "id": {
          "maxBytes": 1024,
          "minBytes": 0,
          "pattern": "^[0-9a-f]{32}$",
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "empty_trash": {
      "args": {},
      "hookOnly": false
    },
    "export_all": {
      "args": {
        "progress": {
          "type": "channel"
        }
      },
      "hookOnly": false
    },
    "export_document": {
      "args": {
        "id": {
          "maxBytes": 1024,
          "minBytes": 0,
          "pattern": "^[0-9a-f]{32}$",
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "import_dropped": {
      "args": {
        "progress": {
          "type": "channel"
        }
      },
      "hookOnly": false
    },
    "import_files": {
      "args": {
        "progress": {
          "type": "channel"
        }
      },
      "hookOnly": false
    },
    "ipc_policy": {
      "args": {},
      "hookOnly": false
    },
    "keep_alive": {
      "args": {},
      "hookOnly": false
    },
    "list_documents": {
      "args": {
        "limit": {
          "max": 500,
          "min": 1,
          "type": "integer"
        },
        "offset": {
          "max": 100000000,
          "min": 0,
          "type": "integer"
        },
        "order": {
          "maxBytes": 4,
          "minBytes": 3,
          "pattern": "^(asc|desc)$",
          "type": "string"
        },
        "query": {
          "maxBytes": 256,
          "minBytes": 0,
          "type": "string"
        },
        "sort": {
          "maxBytes": 4,
          "minBytes": 4,
          "pattern": "^(name|size|date)$",
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "list_trash": {
      "args": {
        "offset": {
          "max": 100000000,
          "min": 0,
          "type": "integer"
        }
      },
      "hookOnly": false
    },
    "lock": {
      "args": {},
      "hookOnly": false
    },
    "preview_document": {
      "args": {
        "id": {
          "maxBytes": 1024,
          "minBytes": 0,
          "pattern": "^[0-9a-f]{32}$",
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "recover": {
      "args": {
        "key": {
          "maxBytes": 256,
          "minBytes": 56,
          "pattern": "^[ -]*(?:[0-9A-TV-Za-tv-z][ -]*){56}$",
          "type": "string"
        },
        "newKey": {
          "maxBytes": 3,
          "minBytes": 2,
          "pattern": "^(no|yes)$",
          "type": "string"
        },
        "passphrase": {
          "maxBytes": 1024,
          "minBytes": 8,
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "rename_document": {
      "args": {
        "id": {
          "maxBytes": 1024,
          "minBytes": 0,
          "pattern": "^[0-9a-f]{32}$",
          "type": "string"
        },
        "name": {
          "maxBytes": 255,
          "minBytes": 1,
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "replace_recovery_key": {
      "args": {
        "passphrase": {
          "maxBytes": 1024,
          "minBytes": 1,
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "report_blocked": {
      "args": {
        "command": {
          "maxBytes": 64,
          "minBytes": 0,
          "pattern": "^[A-Za-z0-9_:|.-]*$",
          "type": "string"
        },
        "reason": {
          "maxBytes": 1024,
          "minBytes": 0,
          "pattern": "^(unknown_command|hook_only|bad_message|bad_options|missing_argument|extra_argument|bad_argument)$",
          "type": "string"
        }
      },
      "hookOnly": true
    },
    "restore_document": {
      "args": {
        "id": {
          "maxBytes": 1024,
          "minBytes": 0,
          "pattern": "^[0-9a-f]{32}$",
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "set_auto_lock": {
      "args": {
        "minutes": {
          "max": 1440,
          "min": 1,
          "type": "integer"
        },
        "passphrase": {
          "maxBytes": 1024,
          "minBytes": 0,
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "set_tags": {
      "args": {
        "id": {
          "maxBytes": 1024,
          "minBytes": 0,
          "pattern": "^[0-9a-f]{32}$",
          "type": "string"
        },
        "tags": {
          "items": {
            "maxBytes": 64,
            "minBytes": 1,
            "type": "string"
          },
          "maxItems": 32,
          "type": "array"
        }
      },
      "hookOnly": false
    },
    "share_document": {
      "args": {
        "id": {
          "maxBytes": 1024,
          "minBytes": 0,
          "pattern": "^[0-9a-f]{32}$",
          "type": "string"
        },
        "recipients": {
          "items": {
            "maxBytes": 62,
            "minBytes": 62,
            "pattern": "^age1[02-9ac-hj-np-z]{51}[qs][02-9ac-hj-np-z]{6}$",
            "type": "string"
          },
          "maxItems": 20,
          "type": "array"
        }
      },
      "hookOnly": false
    },
    "subscribe": {
      "args": {
        "events": {
          "type": "channel"
        }
      },
      "hookOnly": false
    },
    "unlock": {
      "args": {
        "passphrase": {
          "maxBytes": 1024,
          "minBytes": 1,
          "type": "string"
        }
      },
      "hookOnly": false
    },
    "vault_status": {
      "args": {},
      "hookOnly": false
    }
  }
};
