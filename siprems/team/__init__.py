"""A store's team: roles (`roles`), members (`members`) and invitations
(`invitations`). No Sanic imports."""
