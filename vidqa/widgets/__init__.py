"""vidqa.widgets"""
